//! The login and consent page of the authorization endpoints (Japanese and
//! English), and the error page shown when the request cannot be sent back
//! to the client (unknown client or redirect URI).

/// Escapes text for HTML element content and attribute values.
pub(crate) use crate::text::html_escape as esc;

/// What the user is asked to approve.
pub(crate) struct Consent<'a> {
    pub action: &'a str,
    pub request_id: &'a str,
    pub client_name: &'a str,
    pub what_ja: String,
    pub what_en: String,
    pub users: &'a [(String, String)],
    pub login_hint: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub(crate) fn consent_page(c: &Consent<'_>) -> String {
    let options: String = c
        .users
        .iter()
        .map(|(id, label)| {
            let selected = if Some(id.as_str()) == c.login_hint {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{}\"{selected}>{}</option>", esc(id), esc(label))
        })
        .collect();
    let error = c
        .error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crpki サンドボックス ログインと承認 / Sandbox login and consent</title>
<style>
body {{ font-family: sans-serif; max-width: 40em; margin: 2em auto; }}
.banner {{ background: #fde68a; padding: .5em 1em; border: 1px solid #b45309; }}
.error {{ color: #b91c1c; font-weight: bold; }}
label {{ display: block; margin-top: 1em; }}
button {{ margin: 1.5em 1em 0 0; padding: .5em 2em; }}
</style>
</head>
<body>
<p class="banner"><strong>SANDBOX / TEST</strong> — これはテスト用のサンドボックスです。本物の GビズID ではありません。
This is a test sandbox, not the real GビズID.</p>
<h1>ログインと承認 <small>Login and consent</small></h1>
<p><strong id="client-name">{client}</strong> が次の操作の承認を求めています。<br>
<strong>{client}</strong> asks for your approval of:</p>
<ul id="what"><li lang="ja">{what_ja}</li><li lang="en">{what_en}</li></ul>
{error}
<form method="post" action="{action}">
<input type="hidden" name="request_id" value="{rid}">
<label>利用者 / User
<select name="user" id="user">{options}</select></label>
<label>パスワード / Password
<input type="password" name="password" id="password" autocomplete="off"></label>
<button type="submit" name="decision" value="approve" id="approve">承認する / Approve</button>
<button type="submit" name="decision" value="deny" id="deny">拒否する / Deny</button>
</form>
</body>
</html>
"#,
        client = esc(c.client_name),
        what_ja = esc(&c.what_ja),
        what_en = esc(&c.what_en),
        action = esc(c.action),
        rid = esc(c.request_id),
    )
}

pub(crate) fn error_page(message: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>エラー / Error</title></head>\
         <body><p><strong>SANDBOX / TEST</strong></p><h1>エラー / Error</h1><p id=\"error\">{}</p></body></html>",
        esc(message)
    )
}
