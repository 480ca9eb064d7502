//! Reading a PDF to sign (lopdf) and laying out the incremental update that
//! adds one signature: the signature dictionary with its `/ByteRange` and a
//! `/Contents` placeholder, the field (new, or an existing empty one), the
//! page's annotations and the AcroForm, and a cross-reference section in
//! the same form as the file's last one.
//!
//! Nothing here touches the original bytes: the update is appended after
//! them, and only the placeholder is filled in later.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream, Writer};

use super::SubFilter;
use crate::error::{Error, Result};

/// What the errors about a PDF's structure are about.
pub(super) const WHAT: &str = "PDF";

/// The width of the `/ByteRange` array's contents, padded with spaces: four
/// numbers of up to 10 digits and their separators fit.
const BYTE_RANGE_WIDTH: usize = 48;

/// A PDF loaded for signing or verifying, with what lopdf does not keep.
pub(super) struct Loaded {
    pub doc: Document,
    /// The last cross-reference section is a stream (`false`: a table,
    /// including a hybrid file's table with `/XRefStm`).
    pub xref_stream: bool,
}

/// Loads `bytes` strictly enough to sign: no encryption, no cross-reference
/// data that lopdf had to repair or rebuild.
pub(super) fn load(bytes: &[u8], shown: &str) -> Result<Loaded> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(Error::malformed(
            WHAT,
            format!("{shown} does not start with %PDF-"),
        ));
    }
    let options = LoadOptions::default();
    let doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| Error::malformed(WHAT, format!("{shown}: {e}")))?;
    if doc.was_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(Error::unsupported(format!(
            "{shown} is encrypted; crpki signs only unencrypted PDFs (decrypt it first, e.g. `qpdf --decrypt`)"
        )));
    }
    if let Some(recovery) = doc.xref_recovery {
        return Err(Error::malformed(
            WHAT,
            format!(
                "{shown}: its cross-reference table is broken ({recovery:?}); repair it first (e.g. `qpdf IN OUT`): \
                 an incremental update must point at the original's sections exactly"
            ),
        ));
    }
    check_offsets(&doc, bytes, shown)?;
    let start = doc.xref_start;
    let at = bytes
        .get(start..)
        .ok_or_else(|| Error::malformed(WHAT, format!("{shown}: startxref {start} is past the end")))?;
    let xref_stream = !at.starts_with(b"xref");
    Ok(Loaded { doc, xref_stream })
}

/// Every in-use entry of the cross-reference data must point at its object
/// (`N G obj`): lopdf tolerates offsets that are off, but an update that
/// points back at them would carry the damage on.
fn check_offsets(doc: &Document, bytes: &[u8], shown: &str) -> Result<()> {
    for (id, entry) in &doc.reference_table.entries {
        if let lopdf::xref::XrefEntry::Normal { offset, generation } = entry {
            let head = format!("{id} {generation} obj");
            let ok = bytes
                .get(*offset as usize..)
                .is_some_and(|at| at.trim_ascii_start().starts_with(head.as_bytes()));
            if !ok {
                return Err(Error::malformed(
                    WHAT,
                    format!(
                        "{shown}: its cross-reference table is broken (object {id} is not at offset {offset}); \
                         repair it first (e.g. `qpdf IN OUT`)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The incremental update for one signature, ready to append.
#[derive(Debug)]
pub(super) struct Prepared {
    /// The bytes to append after the original (byte ranges filled in).
    pub update: Vec<u8>,
    /// The absolute offset of `/Contents`' `<`.
    pub contents_at: u64,
    /// The length of the hex string with its `<` and `>`.
    pub contents_len: u64,
    /// The signature field's (full) name.
    pub field: String,
}

impl Prepared {
    /// The signed byte ranges: everything but the `/Contents` hex string.
    pub fn byte_range(&self, total: u64) -> [u64; 4] {
        let end = self.contents_at + self.contents_len;
        [0, self.contents_at, end, total - end]
    }
}

/// A reference `(id, gen)` to a dictionary (or the dictionary itself).
fn deref<'a>(doc: &'a Document, obj: &'a Object) -> Result<(Option<ObjectId>, &'a Object)> {
    doc.dereference(obj)
        .map_err(|e| Error::malformed(WHAT, format!("a broken reference: {e}")))
}

fn dict<'a>(obj: &'a Object, what: &str) -> Result<&'a Dictionary> {
    obj.as_dict()
        .map_err(|_| Error::malformed(WHAT, format!("{what} is not a dictionary")))
}

/// One field of the form: its object, full name, and whether it is an
/// unsigned signature field.
pub(super) struct Field {
    pub id: Option<ObjectId>,
    pub name: String,
    pub dict: Dictionary,
}

/// Every field of the AcroForm (terminal or not), depth first, bounded.
pub(super) fn fields(doc: &Document) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    let Ok(catalog) = doc.catalog() else {
        return Err(Error::malformed(WHAT, "no document catalog"));
    };
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(out);
    };
    let form = dict(deref(doc, form)?.1, "/AcroForm")?;
    let Ok(list) = form.get(b"Fields") else {
        return Ok(out);
    };
    let list = deref(doc, list)?
        .1
        .as_array()
        .map_err(|_| Error::malformed(WHAT, "/Fields is not an array"))?;
    let mut stack: Vec<(String, &Object, usize)> = list.iter().rev().map(|o| (String::new(), o, 0)).collect();
    while let Some((parent, obj, depth)) = stack.pop() {
        if depth > 32 || out.len() > 10_000 {
            return Err(Error::malformed(
                WHAT,
                "the form's field tree is too deep or too large",
            ));
        }
        let (id, obj) = deref(doc, obj)?;
        let d = dict(obj, "a form field")?;
        let own = d.get(b"T").ok().map(lopdf::decode_text_string);
        let name = match (own, parent.is_empty()) {
            (Some(Ok(t)), true) => t,
            (Some(Ok(t)), false) => format!("{parent}.{t}"),
            _ => parent.clone(),
        };
        if let Ok(kids) = d.get(b"Kids").and_then(Object::as_array) {
            for kid in kids.iter().rev() {
                stack.push((name.clone(), kid, depth + 1));
            }
        }
        out.push(Field {
            id,
            name,
            dict: d.clone(),
        });
    }
    Ok(out)
}

/// Whether a field is a signature field (`/FT /Sig`, its own).
pub(super) fn is_signature_field(d: &Dictionary) -> bool {
    d.get(b"FT").and_then(Object::as_name).is_ok_and(|n| n == b"Sig")
}

/// The `/M` date of now, `D:YYYYMMDDHHmmSSZ`.
fn pdf_date(at: std::time::SystemTime) -> String {
    let format = time::macros::format_description!("D:[year][month][day][hour][minute][second]Z");
    time::OffsetDateTime::from(at).format(format).unwrap_or_default()
}

pub(super) fn serialize(obj: &Object) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    Writer::write_object(&mut out, obj)
        .map_err(|e| Error::malformed(WHAT, format!("writing an object: {e}")))?;
    Ok(out)
}

/// The trailer's `/Root` reference and a copy of the catalog, to rewrite.
pub(super) fn root_and_catalog(doc: &Document) -> Result<(ObjectId, Dictionary)> {
    let root_ref = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| Error::malformed(WHAT, "the trailer has no /Root reference"))?;
    let catalog = doc
        .catalog()
        .map_err(|e| Error::malformed(WHAT, format!("the catalog: {e}")))?
        .clone();
    Ok((root_ref, catalog))
}

/// The object numbers an update allocates: from the trailer's /Size on.
pub(super) struct NextIds(u32);

impl NextIds {
    pub fn new(doc: &Document) -> Self {
        let size = doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        Self(size.max(doc.max_id + 1))
    }

    pub fn alloc(&mut self) -> ObjectId {
        let id = (self.0, 0u16);
        self.0 += 1;
        id
    }
}

/// What a prepared signature dictionary is.
#[derive(Clone, Copy, Debug)]
pub(super) enum SigKind {
    /// A signature (`/Type /Sig`) with this `/SubFilter`.
    Signature(SubFilter),
    /// A document timestamp (`/Type /DocTimeStamp`, `ETSI.RFC3161`; B-LTA,
    /// which needs feature `remote`).
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    DocTimeStamp,
}

/// Writes the `changed` objects after what `update` holds, then the
/// cross-reference section (in the file's form, `/Prev` to its last one)
/// and the trailer; `offsets` already holds what `update` placed.
pub(super) fn write_tail(
    update: &mut Vec<u8>,
    loaded: &Loaded,
    original_len: u64,
    offsets: &mut BTreeMap<ObjectId, u64>,
    changed: &BTreeMap<ObjectId, Object>,
    ids: &mut NextIds,
) -> Result<()> {
    let doc = &loaded.doc;
    for (id, obj) in changed {
        offsets.insert(*id, original_len + update.len() as u64);
        update.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        update.extend_from_slice(&serialize(obj)?);
        update.extend_from_slice(b"\nendobj\n");
    }
    let mut trailer = Dictionary::new();
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Ok(v) = doc.trailer.get(key) {
            trailer.set(key, v.clone());
        }
    }
    trailer.set("Prev", Object::Integer(doc.xref_start as i64));
    let xref_at = original_len + update.len() as u64;
    if loaded.xref_stream {
        let xref_id = ids.alloc();
        offsets.insert(xref_id, xref_at);
        trailer.set("Size", Object::Integer(i64::from(ids.0)));
        write_xref_stream(update, xref_id, offsets, trailer)?;
    } else {
        trailer.set("Size", Object::Integer(i64::from(ids.0)));
        write_xref_table(update, offsets, &trailer)?;
    }
    update.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
    Ok(())
}

/// Lays out the update that signs `loaded` (whose file is `original_len`
/// bytes and ends with `last_byte`), with a `/Contents` of `reserve` bytes.
pub(super) fn prepare(
    loaded: &Loaded,
    original_len: u64,
    last_byte: Option<u8>,
    kind: SigKind,
    field: Option<&str>,
    reserve: usize,
    now: std::time::SystemTime,
) -> Result<Prepared> {
    let doc = &loaded.doc;
    let mut ids = NextIds::new(doc);
    let (root_ref, mut catalog) = root_and_catalog(doc)?;

    // The objects the update rewrites or adds, besides the signature.
    let mut changed: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let sig_id = ids.alloc();
    let existing = fields(doc)?;

    // The field: an existing empty signature field, or a new widget on page 1.
    let field_name;
    let field_ref;
    if let Some(name) = field
        && let Some(f) = existing.iter().find(|f| f.name == name)
    {
        if !is_signature_field(&f.dict) {
            return Err(Error::invalid_argument(format!(
                "field {name:?} is not a signature field"
            )));
        }
        if f.dict.has(b"V") {
            return Err(Error::invalid_argument(format!(
                "field {name:?} is already signed"
            )));
        }
        let id =
            f.id.ok_or_else(|| Error::malformed(WHAT, format!("field {name:?} is not an indirect object")))?;
        let mut d = f.dict.clone();
        d.set("V", Object::Reference(sig_id));
        changed.insert(id, Object::Dictionary(d));
        field_name = name.to_string();
        field_ref = None;
    } else {
        let name = match field {
            Some(n) => n.to_string(),
            None => (1..)
                .map(|i| format!("Signature{i}"))
                .find(|n| existing.iter().all(|f| &f.name != n))
                .unwrap_or_default(),
        };
        if name.is_empty() || name.contains('.') {
            return Err(Error::invalid_argument(format!(
                "{name:?} is not a field name (non-empty, no '.')"
            )));
        }
        let widget_id = ids.alloc();
        let pages = doc.get_pages();
        let page_id = *pages
            .values()
            .next()
            .ok_or_else(|| Error::malformed(WHAT, "the document has no page"))?;
        let mut widget = Dictionary::new();
        widget.set("Type", Object::Name(b"Annot".to_vec()));
        widget.set("Subtype", Object::Name(b"Widget".to_vec()));
        widget.set("FT", Object::Name(b"Sig".to_vec()));
        widget.set("T", lopdf::text_string(&name));
        widget.set("V", Object::Reference(sig_id));
        // Print + Locked; an invisible signature.
        widget.set("F", Object::Integer(132));
        widget.set(
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
        );
        widget.set("P", Object::Reference(page_id));
        changed.insert(widget_id, Object::Dictionary(widget));
        add_annotation(doc, page_id, widget_id, root_ref, &mut catalog, &mut changed)?;
        field_name = name;
        field_ref = Some(widget_id);
    }

    // The AcroForm: the new field in /Fields, /SigFlags 3.
    update_acroform(doc, &mut catalog, field_ref, &mut changed)?;
    let original_catalog = doc
        .catalog()
        .map_err(|e| Error::malformed(WHAT, format!("the catalog: {e}")))?;
    if serialize(&Object::Dictionary(catalog.clone()))?
        != serialize(&Object::Dictionary(original_catalog.clone()))?
    {
        changed.insert(root_ref, Object::Dictionary(catalog));
    }

    // Write: the signature first (its offsets are then known), the rest after.
    let mut update = Vec::new();
    if !matches!(last_byte, Some(b'\n' | b'\r')) {
        update.push(b'\n');
    }
    let mut offsets: BTreeMap<ObjectId, u64> = BTreeMap::new();
    offsets.insert(sig_id, original_len + update.len() as u64);
    let head = match kind {
        SigKind::Signature(subfilter) => format!(
            "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /{} /M ({})",
            subfilter.name(),
            pdf_date(now)
        ),
        SigKind::DocTimeStamp => {
            "/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161".to_string()
        }
    };
    update.extend_from_slice(format!("{} 0 obj\n<<{head} /ByteRange [", sig_id.0).as_bytes());
    let range_at = update.len();
    update.extend_from_slice(&[b' '; BYTE_RANGE_WIDTH]);
    update.extend_from_slice(b"] /Contents ");
    let contents_at = original_len + update.len() as u64;
    update.push(b'<');
    update.resize(update.len() + 2 * reserve, b'0');
    update.push(b'>');
    let contents_len = 2 * reserve as u64 + 2;
    update.extend_from_slice(b">>\nendobj\n");

    write_tail(
        &mut update,
        loaded,
        original_len,
        &mut offsets,
        &changed,
        &mut ids,
    )?;

    let prepared = Prepared {
        contents_at,
        contents_len,
        field: field_name,
        update,
    };
    let total = original_len + prepared.update.len() as u64;
    let range = prepared.byte_range(total);
    let text = format!("{} {} {} {}", range[0], range[1], range[2], range[3]);
    if text.len() > BYTE_RANGE_WIDTH {
        return Err(Error::unsupported("a PDF this large"));
    }
    let mut prepared = prepared;
    prepared.update[range_at..range_at + text.len()].copy_from_slice(text.as_bytes());
    Ok(prepared)
}

/// Adds the widget to the page's /Annots (the page, or its /Annots array
/// object, rewritten).
fn add_annotation(
    doc: &Document,
    page_id: ObjectId,
    widget: ObjectId,
    root_ref: ObjectId,
    catalog: &mut Dictionary,
    changed: &mut BTreeMap<ObjectId, Object>,
) -> Result<()> {
    let page = doc
        .get_dictionary(page_id)
        .map_err(|e| Error::malformed(WHAT, format!("page 1: {e}")))?;
    match page.get(b"Annots") {
        Ok(Object::Reference(id)) => {
            let mut arr = doc
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| Error::malformed(WHAT, "page 1's /Annots is not an array"))?
                .clone();
            arr.push(Object::Reference(widget));
            changed.insert(*id, Object::Array(arr));
        }
        Ok(Object::Array(arr)) => {
            let mut arr = arr.clone();
            arr.push(Object::Reference(widget));
            let mut page = page.clone();
            page.set("Annots", Object::Array(arr));
            put_dict(page_id, page, root_ref, catalog, changed);
        }
        Ok(_) => return Err(Error::malformed(WHAT, "page 1's /Annots is not an array")),
        Err(_) => {
            let mut page = page.clone();
            page.set("Annots", Object::Array(vec![Object::Reference(widget)]));
            put_dict(page_id, page, root_ref, catalog, changed);
        }
    }
    Ok(())
}

/// Records a rewritten dictionary (the catalog is kept apart until the end).
fn put_dict(
    id: ObjectId,
    d: Dictionary,
    root_ref: ObjectId,
    catalog: &mut Dictionary,
    changed: &mut BTreeMap<ObjectId, Object>,
) {
    if id == root_ref {
        *catalog = d;
    } else {
        changed.insert(id, Object::Dictionary(d));
    }
}

/// Puts `field` (when new) into the AcroForm's /Fields and sets /SigFlags 3.
fn update_acroform(
    doc: &Document,
    catalog: &mut Dictionary,
    field: Option<ObjectId>,
    changed: &mut BTreeMap<ObjectId, Object>,
) -> Result<()> {
    let form_entry = catalog.get(b"AcroForm").ok().cloned();
    let (form_id, mut form) = match &form_entry {
        Some(Object::Reference(id)) => (
            Some(*id),
            doc.get_dictionary(*id)
                .map_err(|_| Error::malformed(WHAT, "/AcroForm is not a dictionary"))?
                .clone(),
        ),
        Some(Object::Dictionary(d)) => (None, d.clone()),
        Some(_) => return Err(Error::malformed(WHAT, "/AcroForm is not a dictionary")),
        None => (None, Dictionary::new()),
    };
    if let Some(field) = field {
        match form.get(b"Fields") {
            Ok(Object::Reference(id)) => {
                let mut arr = doc
                    .get_object(*id)
                    .and_then(Object::as_array)
                    .map_err(|_| Error::malformed(WHAT, "/Fields is not an array"))?
                    .clone();
                arr.push(Object::Reference(field));
                changed.insert(*id, Object::Array(arr));
            }
            Ok(Object::Array(arr)) => {
                let mut arr = arr.clone();
                arr.push(Object::Reference(field));
                form.set("Fields", Object::Array(arr));
            }
            Ok(_) => return Err(Error::malformed(WHAT, "/Fields is not an array")),
            Err(_) => form.set("Fields", Object::Array(vec![Object::Reference(field)])),
        }
    }
    form.set("SigFlags", Object::Integer(3));
    match form_id {
        Some(id) => {
            changed.insert(id, Object::Dictionary(form));
        }
        None => catalog.set("AcroForm", Object::Dictionary(form)),
    }
    Ok(())
}

/// The runs of consecutive object numbers, for the /Index or subsections.
fn runs(offsets: &BTreeMap<ObjectId, u64>) -> Vec<Vec<(ObjectId, u64)>> {
    let mut out: Vec<Vec<(ObjectId, u64)>> = Vec::new();
    for (id, off) in offsets {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|(last, _)| last.0 + 1 == id.0) => run.push((*id, *off)),
            _ => out.push(vec![(*id, *off)]),
        }
    }
    out
}

fn write_xref_table(
    out: &mut Vec<u8>,
    offsets: &BTreeMap<ObjectId, u64>,
    trailer: &Dictionary,
) -> Result<()> {
    out.extend_from_slice(b"xref\n");
    for run in runs(offsets) {
        out.extend_from_slice(format!("{} {}\n", run[0].0.0, run.len()).as_bytes());
        for (id, off) in run {
            // Each entry is exactly 20 bytes.
            out.extend_from_slice(format!("{off:010} {:05} n\r\n", id.1).as_bytes());
        }
    }
    out.extend_from_slice(b"trailer\n");
    out.extend_from_slice(&serialize(&Object::Dictionary(trailer.clone()))?);
    out.push(b'\n');
    Ok(())
}

fn write_xref_stream(
    out: &mut Vec<u8>,
    id: ObjectId,
    offsets: &BTreeMap<ObjectId, u64>,
    mut dict: Dictionary,
) -> Result<()> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for run in runs(offsets) {
        index.push(Object::Integer(i64::from(run[0].0.0)));
        index.push(Object::Integer(run.len() as i64));
        for (id, off) in run {
            let off = u32::try_from(off).map_err(|_| Error::unsupported("a PDF over 4 GiB"))?;
            data.push(1u8);
            data.extend_from_slice(&off.to_be_bytes());
            data.extend_from_slice(&id.1.to_be_bytes());
        }
    }
    dict.set("Type", Object::Name(b"XRef".to_vec()));
    dict.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
    dict.set("Index", Object::Array(index));
    let stream = Stream::new(dict, data).with_compression(false);
    out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
    out.extend_from_slice(&serialize(&Object::Stream(stream))?);
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}
