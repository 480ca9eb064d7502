//! Canonical XML 1.0 (inclusive) and Exclusive XML Canonicalization 1.0,
//! with and without comments, of the document subsets XML signatures use:
//! the whole document, one element's subtree (a same-document `#id`
//! reference), either of them less one element (the enveloped-signature
//! transform).
//!
//! No kept Rust crate did this on the parser we use when this was written
//! (see the room's docs), so it is written here once, on `roxmltree`'s
//! tree, and tested against the W3C examples and `xmlsec1`'s output
//! (`tests/xml.rs`). Element and attribute names are taken from the
//! source text (`roxmltree` keeps namespace URIs, not the prefixes an
//! element was written with).

use std::collections::BTreeMap;

use roxmltree::{Document, Node, NodeType};

use crate::error::{Error, Result};

/// Canonical XML 1.0, omitting comments.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Exclusive XML Canonicalization 1.0, omitting comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive XML Canonicalization 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// The deepest element nesting canonicalized (deeper is refused, so that
/// a hostile document cannot exhaust the stack).
pub const MAX_DEPTH: usize = 256;

/// A canonicalization method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct C14nMethod {
    /// Exclusive (only visibly utilized namespaces) rather than inclusive.
    pub exclusive: bool,
    /// Keep comments (when the node-set has them: same-document references
    /// `""` and `#id` never do).
    pub with_comments: bool,
    /// Exclusive only: the InclusiveNamespaces PrefixList (`#default` is
    /// the default namespace), treated as in inclusive canonicalization.
    pub inclusive_prefixes: Vec<String>,
}

impl C14nMethod {
    /// Canonical XML 1.0 without comments (what e-Gov uses).
    pub fn inclusive() -> Self {
        Self {
            exclusive: false,
            with_comments: false,
            inclusive_prefixes: Vec::new(),
        }
    }

    /// Exclusive XML Canonicalization 1.0 without comments.
    pub fn exclusive() -> Self {
        Self {
            exclusive: true,
            ..Self::inclusive()
        }
    }

    /// The method an algorithm URI names, if it is one of the four.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let (exclusive, with_comments) = match uri {
            C14N => (false, false),
            C14N_WITH_COMMENTS => (false, true),
            EXC_C14N => (true, false),
            EXC_C14N_WITH_COMMENTS => (true, true),
            _ => return None,
        };
        Some(Self {
            exclusive,
            with_comments,
            inclusive_prefixes: Vec::new(),
        })
    }

    /// The algorithm URI.
    pub fn uri(&self) -> &'static str {
        match (self.exclusive, self.with_comments) {
            (false, false) => C14N,
            (false, true) => C14N_WITH_COMMENTS,
            (true, false) => EXC_C14N,
            (true, true) => EXC_C14N_WITH_COMMENTS,
        }
    }
}

/// Which nodes to canonicalize.
#[derive(Clone, Copy, Debug)]
pub struct Subset<'a, 'input> {
    /// The element whose subtree is the node-set; `None` is the whole
    /// document (with the comments and processing instructions outside
    /// the document element).
    pub apex: Option<Node<'a, 'input>>,
    /// An element left out with its subtree (the enveloped signature).
    pub exclude: Option<Node<'a, 'input>>,
    /// Whether comments are in the node-set.
    pub comments: bool,
}

/// Canonicalizes `subset` of `doc` with `method`.
///
/// Comments are output only when both the method keeps them and the
/// subset has them.
pub fn canonicalize(doc: &Document<'_>, subset: Subset<'_, '_>, method: &C14nMethod) -> Result<Vec<u8>> {
    let mut c = Canonicalizer {
        text: doc.input_text(),
        method,
        exclude: subset.exclude,
        comments: subset.comments && method.with_comments,
        out: Vec::new(),
    };
    match subset.apex {
        Some(apex) => {
            if !apex.is_element() {
                return Err(Error::invalid_argument(
                    "the node to canonicalize is not an element",
                ));
            }
            let xml_attrs = if method.exclusive {
                Vec::new()
            } else {
                inherited_xml_attributes(apex)
            };
            c.element(apex, &Rendered::default(), &xml_attrs, 0)?;
        }
        None => {
            let root = doc.root();
            let mut after_element = false;
            for child in root.children() {
                match child.node_type() {
                    NodeType::Element => {
                        c.element(child, &Rendered::default(), &[], 0)?;
                        after_element = true;
                    }
                    NodeType::Comment | NodeType::PI => {
                        if Some(child) == c.exclude || (child.is_comment() && !c.comments) {
                            continue;
                        }
                        if after_element {
                            c.out.push(b'\n');
                        }
                        c.leaf(child);
                        if !after_element {
                            c.out.push(b'\n');
                        }
                    }
                    // Only whitespace can stand outside the document
                    // element, and C14N drops it.
                    _ => {}
                }
            }
        }
    }
    Ok(c.out)
}

/// The namespace declarations in effect in the output so far:
/// prefix (`""` for the default namespace) → URI.
#[derive(Clone, Default)]
struct Rendered<'a> {
    map: BTreeMap<&'a str, &'a str>,
}

struct Canonicalizer<'a, 'input, 'm> {
    text: &'input str,
    method: &'m C14nMethod,
    exclude: Option<Node<'a, 'input>>,
    comments: bool,
    out: Vec<u8>,
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

impl<'a, 'input: 'a> Canonicalizer<'a, 'input, '_> {
    /// The element's name as written (with its prefix).
    fn qname(&self, node: Node<'a, 'input>) -> &'input str {
        qname_of(self.text, node)
    }

    fn element(
        &mut self,
        node: Node<'a, 'input>,
        rendered: &Rendered<'a>,
        extra_xml_attrs: &[(&'a str, &'a str)],
        depth: usize,
    ) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(Error::malformed(
                "XML document",
                format!("elements nested deeper than {MAX_DEPTH}"),
            ));
        }
        if Some(node) == self.exclude {
            return Ok(());
        }
        let qname = self.qname(node);
        let prefix = qname.split_once(':').map_or("", |(p, _)| p);

        // The namespaces in scope here: prefix → URI ("" for the default;
        // an undeclared default, xmlns="", is the empty URI).
        let mut in_scope: BTreeMap<&'a str, &'a str> = BTreeMap::new();
        for ns in node.namespaces() {
            let p = ns.name().unwrap_or("");
            if p == "xml" {
                continue;
            }
            in_scope.insert(p, ns.uri());
        }

        let mut attrs: Vec<(&'a str, &'a str, &'a str, &'a str)> = Vec::new();
        for a in node.attributes() {
            let q = &self.text[a.range_qname()];
            attrs.push((a.namespace().unwrap_or(""), a.name(), q, a.value()));
        }
        for (local, value) in extra_xml_attrs {
            if !attrs.iter().any(|(ns, l, _, _)| *ns == XML_NS && l == local) {
                let q = match *local {
                    "lang" => "xml:lang",
                    "space" => "xml:space",
                    _ => "xml:base",
                };
                attrs.push((XML_NS, local, q, value));
            }
        }

        // Which namespace declarations to output.
        let mut next = rendered.clone();
        let mut decls: Vec<(&'a str, &'a str)> = Vec::new();
        let mut consider = |p: &'a str, next: &mut Rendered<'a>| {
            let uri = in_scope.get(p).copied().unwrap_or("");
            let current = next.map.get(p).copied().unwrap_or("");
            if uri != current {
                decls.push((p, uri));
                next.map.insert(p, uri);
            }
        };
        if self.method.exclusive {
            let mut used: Vec<&'a str> = vec![prefix];
            for (_, _, q, _) in &attrs {
                if let Some((p, _)) = q.split_once(':') {
                    used.push(p);
                }
            }
            for p in &self.method.inclusive_prefixes {
                let p = if p == "#default" { "" } else { p.as_str() };
                if let Some((k, _)) = in_scope.get_key_value(p) {
                    used.push(k);
                }
            }
            used.sort_unstable();
            used.dedup();
            for p in used {
                if p != "xml" {
                    consider(p, &mut next);
                }
            }
        } else {
            let mut all: Vec<&'a str> = in_scope.keys().copied().collect();
            if !in_scope.contains_key("") {
                all.push("");
            }
            all.sort_unstable();
            for p in all {
                consider(p, &mut next);
            }
        }
        decls.sort_unstable_by(|a, b| a.0.cmp(b.0));

        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        for (p, uri) in &decls {
            if p.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(p.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attr(&mut self.out, uri);
            self.out.push(b'"');
        }
        attrs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, q, value) in &attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(q.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attr(&mut self.out, value);
            self.out.push(b'"');
        }
        self.out.push(b'>');

        for child in node.children() {
            match child.node_type() {
                NodeType::Element => self.element(child, &next, &[], depth + 1)?,
                NodeType::Text => escape_text(&mut self.out, child.text().unwrap_or("")),
                NodeType::Comment if self.comments => self.leaf(child),
                NodeType::PI => self.leaf(child),
                _ => {}
            }
        }
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(qname.as_bytes());
        self.out.push(b'>');
        Ok(())
    }

    /// A comment or processing instruction.
    fn leaf(&mut self, node: Node<'a, 'input>) {
        if let Some(pi) = node.pi() {
            self.out.extend_from_slice(b"<?");
            self.out.extend_from_slice(pi.target.as_bytes());
            if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                self.out.push(b' ');
                escape_pi(&mut self.out, value);
            }
            self.out.extend_from_slice(b"?>");
        } else if node.is_comment() {
            self.out.extend_from_slice(b"<!--");
            escape_pi(&mut self.out, node.text().unwrap_or(""));
            self.out.extend_from_slice(b"-->");
        }
    }
}

/// An element's name as written in `text` (its source), with its prefix.
pub(super) fn qname_of<'i>(text: &'i str, element: Node<'_, '_>) -> &'i str {
    let rest = &text[element.range().start + 1..];
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Inclusive C14N of a subtree keeps the `xml:` attributes (lang, space,
/// base) of the apex's ancestors that the apex does not set itself, the
/// nearest ancestor's value winning.
fn inherited_xml_attributes<'a>(apex: Node<'a, '_>) -> Vec<(&'a str, &'a str)> {
    let mut found: Vec<(&'a str, &'a str)> = Vec::new();
    for ancestor in apex.ancestors().skip(1).filter(|n| n.is_element()) {
        for a in ancestor.attributes() {
            if a.namespace() == Some(XML_NS) && !found.iter().any(|(l, _)| *l == a.name()) {
                found.push((a.name(), a.value()));
            }
        }
    }
    found
}

/// Writes `s`, each byte that `replace` names replaced by its reference.
fn escape_with(out: &mut Vec<u8>, s: &str, replace: impl Fn(u8) -> Option<&'static [u8]>) {
    for b in s.bytes() {
        match replace(b) {
            Some(r) => out.extend_from_slice(r),
            None => out.push(b),
        }
    }
}

fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

fn escape_attr(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Comments and processing instructions keep their text, only `\r` is
/// written as a character reference.
fn escape_pi(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, |b| (b == b'\r').then_some(b"&#xD;".as_slice()));
}
