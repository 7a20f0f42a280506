/// What `IPVS_CMD_GET_INFO` reports about the kernel's IPVS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Encoded as `0x010201` for 1.2.1.
    pub version: u32,
    /// Buckets in the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as ipvsadm prints it, e.g. `1.2.1`.
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_string() {
        let info = super::Info {
            version: 0x010201,
            conn_tab_size: 4096,
        };
        assert_eq!(info.version_string(), "1.2.1");
    }
}
