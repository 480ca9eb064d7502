//! Long-term validation: the document security store (DSS, ETSI EN
//! 319 142-1 §5.4: `/Certs`, `/OCSPs`, `/CRLs`) added in an incremental
//! update after a signature (B-LT), and the document timestamp
//! (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`) over it all (B-LTA).
// Without `remote`, only B-B is built: the DSS and timestamp steps stay unused.
#![cfg_attr(not(feature = "remote"), allow(dead_code))]

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use super::update::{self, Loaded, NextIds, WHAT};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::revocation::RevocationData;

/// The streams' contents of one DSS array (`/Certs`, `/OCSPs` or `/CRLs`).
fn dss_array(doc: &Document, dss: &Dictionary, key: &[u8]) -> Vec<Vec<u8>> {
    let Ok(arr) = dss
        .get(key)
        .and_then(|o| doc.dereference(o))
        .and_then(|(_, o)| o.as_array())
    else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|o| doc.dereference(o).ok())
        .filter_map(|(_, o)| o.as_stream().ok())
        .filter_map(|s| s.decompressed_content().ok().or_else(|| Some(s.content.clone())))
        .collect()
}

/// The DSS of a document (the catalog's `/DSS`): its certificates and
/// revocation data. Undecodable certificates are skipped.
pub(super) fn read_dss(doc: &Document) -> Option<RevocationData> {
    let catalog = doc.catalog().ok()?;
    let (_, dss) = doc.dereference(catalog.get(b"DSS").ok()?).ok()?;
    let dss = dss.as_dict().ok()?;
    Some(RevocationData {
        ocsp_responses: dss_array(doc, dss, b"OCSPs"),
        crls: dss_array(doc, dss, b"CRLs"),
        certificates: dss_array(doc, dss, b"Certs")
            .iter()
            .filter_map(|d| Certificate::from_der(d).ok())
            .collect(),
    })
}

/// The update that adds `certs` and `data` to the document's DSS (made, or
/// extended without repeating what it holds), for a file of `bytes`.
pub(super) fn dss_update(
    loaded: &Loaded,
    bytes: &[u8],
    certs: &[Certificate],
    data: &RevocationData,
) -> Result<Vec<u8>> {
    let doc = &loaded.doc;
    let mut ids = NextIds::new(doc);
    let (root_ref, mut catalog) = update::root_and_catalog(doc)?;
    let existing = read_dss(doc).unwrap_or_default();
    let (dss_id, mut dss) = match catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => (
            *id,
            doc.get_dictionary(*id)
                .map_err(|_| Error::malformed(WHAT, "/DSS is not a dictionary"))?
                .clone(),
        ),
        Ok(Object::Dictionary(d)) => (ids.alloc(), d.clone()),
        Ok(_) => return Err(Error::malformed(WHAT, "/DSS is not a dictionary")),
        Err(_) => (ids.alloc(), Dictionary::new()),
    };
    let mut changed: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let mut add = |key: &str, items: Vec<&[u8]>, have: &[Vec<u8>], dss: &mut Dictionary| {
        let mut arr = dss
            .get(key.as_bytes())
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_array().ok().cloned())
            .unwrap_or_default();
        let mut seen: Vec<&[u8]> = have.iter().map(Vec::as_slice).collect();
        for item in items {
            if seen.contains(&item) {
                continue;
            }
            seen.push(item);
            let id = ids.alloc();
            changed.insert(
                id,
                Object::Stream(Stream::new(Dictionary::new(), item.to_vec()).with_compression(false)),
            );
            arr.push(Object::Reference(id));
        }
        if !arr.is_empty() {
            dss.set(key, Object::Array(arr));
        }
    };
    let have_certs: Vec<Vec<u8>> = existing.certificates.iter().map(|c| c.der().to_vec()).collect();
    let cert_ders: Vec<&[u8]> = certs
        .iter()
        .chain(&data.certificates)
        .map(Certificate::der)
        .collect();
    add("Certs", cert_ders, &have_certs, &mut dss);
    add(
        "OCSPs",
        data.ocsp_responses.iter().map(Vec::as_slice).collect(),
        &existing.ocsp_responses,
        &mut dss,
    );
    add(
        "CRLs",
        data.crls.iter().map(Vec::as_slice).collect(),
        &existing.crls,
        &mut dss,
    );
    dss.set("Type", Object::Name(b"DSS".to_vec()));
    changed.insert(dss_id, Object::Dictionary(dss));
    if !matches!(catalog.get(b"DSS"), Ok(Object::Reference(_))) {
        catalog.set("DSS", Object::Reference(dss_id));
        changed.insert(root_ref, Object::Dictionary(catalog));
    }

    let mut out = Vec::new();
    if !matches!(bytes.last(), Some(b'\n' | b'\r')) {
        out.push(b'\n');
    }
    let mut offsets = BTreeMap::new();
    update::write_tail(
        &mut out,
        loaded,
        bytes.len() as u64,
        &mut offsets,
        &changed,
        &mut ids,
    )?;
    Ok(out)
}
