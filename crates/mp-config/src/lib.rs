//! `mp-config`: placeholder, filled in by the foundation issue.
