//! The generic netlink controller (`nlctrl`): only what resolving a family name needs.

use super::DecodeError;
use super::nla::{Nla, ParseNla, parse_string, parse_u16, put_string};

pub const GENL_ID_CTRL: u16 = libc::GENL_ID_CTRL as u16;
pub const CTRL_CMD_GETFAMILY: u8 = libc::CTRL_CMD_GETFAMILY as u8;
pub const CTRL_VERSION: u8 = 1;

/// `CTRL_ATTR_*`, the two this crate uses; the rest of a reply is kept as `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtrlAttr {
    FamilyId(u16),
    FamilyName(String),
    Other(u16, Vec<u8>),
}

const CTRL_ATTR_FAMILY_ID: u16 = libc::CTRL_ATTR_FAMILY_ID as u16;
const CTRL_ATTR_FAMILY_NAME: u16 = libc::CTRL_ATTR_FAMILY_NAME as u16;

impl Nla for CtrlAttr {
    fn kind(&self) -> u16 {
        match self {
            CtrlAttr::FamilyId(_) => CTRL_ATTR_FAMILY_ID,
            CtrlAttr::FamilyName(_) => CTRL_ATTR_FAMILY_NAME,
            CtrlAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            CtrlAttr::FamilyId(id) => buf.extend_from_slice(&id.to_ne_bytes()),
            CtrlAttr::FamilyName(name) => put_string(buf, name),
            CtrlAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for CtrlAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            CTRL_ATTR_FAMILY_ID => CtrlAttr::FamilyId(parse_u16(payload, "CTRL_ATTR_FAMILY_ID")?),
            CTRL_ATTR_FAMILY_NAME => {
                CtrlAttr::FamilyName(parse_string(payload, "CTRL_ATTR_FAMILY_NAME")?)
            }
            other => CtrlAttr::Other(other, payload.to_vec()),
        })
    }
}
