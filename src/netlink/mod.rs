//! The IPVS generic netlink protocol: attribute framing, the uapi vocabulary, message
//! framing, conversions to and from the model, and the socket that carries them.

pub mod attrs;
pub mod codec;
pub mod ctrl;
pub mod message;
pub mod nla;
pub mod socket;

use std::fmt;

/// A reply from the kernel that does not parse: truncated, wrongly sized or incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    pub fn new(what: impl Into<String>) -> Self {
        DecodeError(what.into())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}
