//! GビズID UserInfo claims, and the check that the logged-in account
//! belongs to the corporation a certificate was issued for.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::cert::Certificate;
use crate::cert::moj::{self, CorporateInfo, OID_REGISTERED_CORPORATE_INFO};
use crate::error::{Error, Result};

/// GビズID account type (`account_type`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountType {
    /// 1: gBizID Entry.
    Entry,
    /// 2: gBizID Prime (the corporation's representative account).
    Prime,
    /// 3: gBizID Member.
    Member,
    /// A value this version does not know.
    Other(String),
}

/// GビズID corporation type (`corp_type`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorpType {
    /// 1: a corporation (法人).
    Corporation,
    /// 2: a sole proprietor (個人事業主).
    SoleProprietor,
    /// A value this version does not know.
    Other(String),
}

/// Accepts `1` and `"1"` alike: the documentation does not say which.
fn code<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum C {
        Num(i64),
        Text(String),
    }
    Ok(Option::<C>::deserialize(d)?.map(|c| match c {
        C::Num(n) => n.to_string(),
        C::Text(t) => t.trim().to_owned(),
    }))
}

fn account_type<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<AccountType>, D::Error> {
    Ok(code(d)?.map(|c| match c.as_str() {
        "1" => AccountType::Entry,
        "2" => AccountType::Prime,
        "3" => AccountType::Member,
        _ => AccountType::Other(c),
    }))
}

fn corp_type<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<CorpType>, D::Error> {
    Ok(code(d)?.map(|c| match c.as_str() {
        "1" => CorpType::Corporation,
        "2" => CorpType::SoleProprietor,
        _ => CorpType::Other(c),
    }))
}

/// The UserInfo claims (scope `profile`, and `user`/`email` when granted).
/// Claims without a field here are kept in [`UserInfo::other`].
#[derive(Clone, Debug, Deserialize)]
pub struct UserInfo {
    /// Subject, equal to the ID token's.
    pub sub: String,
    /// Account type.
    #[serde(default, deserialize_with = "account_type")]
    pub account_type: Option<AccountType>,
    /// Corporation or sole proprietor.
    #[serde(default, deserialize_with = "corp_type")]
    pub corp_type: Option<CorpType>,
    /// 法人番号, 13 digits (absent for sole proprietors).
    #[serde(default)]
    pub corporate_number: Option<String>,
    /// Corporate name.
    #[serde(default)]
    pub name: Option<String>,
    /// Corporate name in English.
    #[serde(default)]
    pub en_name: Option<String>,
    /// Prefecture of the head office.
    #[serde(default)]
    pub prefecture_name: Option<String>,
    /// Address, first line.
    #[serde(default)]
    pub address1: Option<String>,
    /// Address, second line.
    #[serde(default)]
    pub address2: Option<String>,
    /// E-mail address (scope `email`).
    #[serde(default)]
    pub email: Option<String>,
    /// Every other claim (`rep_*`, `user_*`, …).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl UserInfo {
    /// Checks that this account belongs to the corporation `certificate`
    /// was issued for (see [`check_corporate_number`]).
    pub fn check_certificate(&self, certificate: &Certificate) -> Result<()> {
        let number = self
            .corporate_number
            .as_deref()
            .ok_or_else(|| Error::Unauthenticated {
                detail:
                    "the GビズID account has no corporate_number (a sole-proprietor account?), so it cannot \
                     be matched with a commercial-registration certificate"
                        .into(),
                source: None,
            })?;
        check_corporate_number(number, certificate)
    }
}

/// Checks a 13-digit 法人番号 (GビズID's `corporate_number`) against the
/// 会社法人等番号 in a certificate's registeredCorporateInfo extension.
/// A mismatch is [`Error::Unauthenticated`]: the account logged in is not
/// the certificate's corporation's.
pub fn check_corporate_number(corporate_number: &str, certificate: &Certificate) -> Result<()> {
    if corporate_number.len() != 13 || !corporate_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_argument(format!(
            "corporate number {corporate_number:?} is not 13 digits"
        )));
    }
    let registered = registered_number(certificate)?;
    let derived = moj::corporate_number(&registered)?;
    if derived != corporate_number {
        return Err(Error::Unauthenticated {
            detail: format!(
                "the GビズID account belongs to 法人番号 {corporate_number}, but the certificate was issued \
                 for 法人番号 {derived} (会社法人等番号 {registered}); log in with that corporation's account"
            ),
            source: None,
        });
    }
    Ok(())
}

fn registered_number(certificate: &Certificate) -> Result<String> {
    let ext = certificate
        .inner()
        .tbs_certificate()
        .extensions()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_REGISTERED_CORPORATE_INFO))
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "certificate '{}' has no registeredCorporateInfo extension",
                certificate.subject()
            ))
        })?;
    let info = CorporateInfo::from_der(ext.extn_value.as_bytes())?;
    info.registered_number.ok_or_else(|| {
        Error::invalid_argument(format!(
            "certificate '{}' names no 会社法人等番号",
            certificate.subject()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_numbers_or_strings() {
        let u: UserInfo = serde_json::from_value(serde_json::json!({
            "sub": "s", "account_type": 2, "corp_type": "1", "corporate_number": "8700110005901",
            "name": "株式会社テスト", "rep_name": "法務 太郎"
        }))
        .unwrap();
        assert_eq!(u.account_type, Some(AccountType::Prime));
        assert_eq!(u.corp_type, Some(CorpType::Corporation));
        assert_eq!(
            u.other.get("rep_name").and_then(|v| v.as_str()),
            Some("法務 太郎")
        );
        let u: UserInfo =
            serde_json::from_value(serde_json::json!({"sub": "s", "account_type": "9"})).unwrap();
        assert_eq!(u.account_type, Some(AccountType::Other("9".into())));
        assert_eq!(u.corp_type, None);
    }
}
