//! `mp-query`: placeholder, filled in by the foundation issue.
