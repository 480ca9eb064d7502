//! The `crpki` command-line tool.
fn main() {}
