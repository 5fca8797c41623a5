//! `mp-sandbox`: placeholder, filled in by the foundation issue.
