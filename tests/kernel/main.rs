//! Kernel tests: run inside the VM (tests/run), each in its own network namespace.
