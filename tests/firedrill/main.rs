//! The one integration-test binary: every module is a family of data-driven checks.
