//! Text that reaches a terminal or a JSON document from untrusted input:
//! certificate values and file names.
//!
//! Two conversions, each total and each used everywhere its kind of text
//! is shown:
//! - [`escape_value`] for values read from certificates (the MOJ fields;
//!   distinguished names use the same rule for their control characters):
//!   nothing that moves the cursor, starts an escape sequence or reorders
//!   the text survives;
//! - [`path`] for file names: the name itself when it is UTF-8 without such
//!   characters (lossless), otherwise an escaped form.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Whether `c` must not reach a terminal as is: C0 and C1 controls, DEL,
/// the bidirectional formatting characters, and the line and paragraph
/// separators.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Appends `c` as RFC 4514 hex pairs: `\` and two lowercase hex digits per
/// UTF-8 byte (`\0a`, `\c2\9b`, `\e2\80\ae`).
pub(crate) fn push_hex_escaped(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        let _ = write!(out, "\\{b:02x}");
    }
}

/// A certificate value made safe to show: every [unsafe
/// character](is_unsafe_char) becomes RFC 4514 hex pairs (`\0d\0a` for
/// CR LF, `\1b` for ESC, `\e2\80\ae` for RIGHT-TO-LEFT OVERRIDE), and `\`
/// becomes `\5c` so that an escape cannot be faked. Other text (Japanese
/// included) is unchanged, and a value without such characters is
/// returned as is.
///
/// ```
/// use crpki::text::escape_value;
/// assert_eq!(escape_value("株式会社テスト"), "株式会社テスト");
/// assert_eq!(escape_value("A\r\n法人番号: 1"), "A\\0d\\0a法人番号: 1");
/// assert_eq!(escape_value("\u{1b}[2K\u{202e}x\\"), "\\1b[2K\\e2\\80\\aex\\5c");
/// ```
pub fn escape_value(value: &str) -> Cow<'_, str> {
    if !value.chars().any(|c| c == '\\' || is_unsafe_char(c)) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c == '\\' || is_unsafe_char(c) {
            push_hex_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A file name as text for messages and JSON: the name itself when it is
/// valid Unicode without [unsafe characters](is_unsafe_char) (lossless);
/// otherwise each byte that is not UTF-8 becomes `\xNN` (on Windows, each
/// unpaired surrogate `\u{NNNN}`) and each unsafe character `\u{NNNN}`.
/// Path separators, `\` included, are kept as they are.
///
/// ```
/// use std::path::Path;
/// assert_eq!(crpki::text::path(Path::new("dir/契約書.pdf")), "dir/契約書.pdf");
/// assert_eq!(crpki::text::path(Path::new("a\nb.txt")), "a\\u{a}b.txt");
/// # #[cfg(unix)] {
/// use std::os::unix::ffi::OsStrExt;
/// let name = std::ffi::OsStr::from_bytes(b"bad\xff\xfe.txt");
/// assert_eq!(crpki::text::path(Path::new(name)), "bad\\xff\\xfe.txt");
/// # }
/// ```
pub fn path(path: &Path) -> Cow<'_, str> {
    if let Some(s) = path.to_str()
        && !s.chars().any(is_unsafe_char)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let push_char = |out: &mut String, c: char| {
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            for c in chunk.valid().chars() {
                push_char(&mut out, c);
            }
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStrExt;
        for unit in char::decode_utf16(path.as_os_str().encode_wide()) {
            match unit {
                Ok(c) => push_char(&mut out, c),
                Err(e) => {
                    let _ = write!(out, "\\u{{{:x}}}", e.unpaired_surrogate());
                }
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        for c in path.to_string_lossy().chars() {
            push_char(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// Escapes text for HTML element content and attribute values (the
/// pages crpki serves: the sandbox's, the login's loopback page).
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters() {
        for c in [
            '\0', '\r', '\n', '\x1b', '\x7f', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{2028}',
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in ['a', ' ', '法', '\u{3000}', '-'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
    }

    #[test]
    fn escaped_values_have_no_unsafe_characters_and_are_unambiguous() {
        let hostile = "ACME\r\n法人番号 corporate number: 1234567890123\u{1b}[1A\u{9b}2K\u{202e}";
        let shown = escape_value(hostile);
        assert!(!shown.chars().any(is_unsafe_char), "{shown}");
        assert_eq!(
            shown,
            "ACME\\0d\\0a法人番号 corporate number: 1234567890123\\1b[1A\\c2\\9b2K\\e2\\80\\ae"
        );
        // A literal backslash cannot pose as an escape.
        assert_ne!(escape_value("\\0a"), escape_value("\n"));
    }
}
