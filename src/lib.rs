//! rsipvsadm: a drop-in compatible replacement for ipvsadm, speaking the kernel's IPVS
//! generic netlink family directly.
//!
//! Layers: [`model`] (what IPVS holds), [`netlink`] (the protocol and the socket),
//! [`ipvs`] (the typed client over one socket), [`cli`] (ipvsadm's command line).

pub mod cli;
pub mod error;
/// Entry points of the fuzz targets and of their corpus replay (not an API).
#[doc(hidden)]
pub mod fuzzing;
pub mod ipvs;
pub mod json;
pub mod listing;
pub mod model;
pub mod modrefs;
pub mod netlink;
pub mod netns;
pub mod nfhooks;
pub mod nss;
pub mod output;
pub mod plan;
pub mod procfs;
pub mod sockopt;

pub use error::{Error, Result};
pub use ipvs::Ipvs;
pub use model::Request;
