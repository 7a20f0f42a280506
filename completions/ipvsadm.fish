# Generated from src/cli/spec.rs and completions/hooks/ by tests/docs.rs:
# RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs
complete -c ipvsadm -w rsipvsadm
