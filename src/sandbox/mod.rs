//! The sandbox: our own CSC remote signing service and GビズID-style OpenID provider on loopback.
