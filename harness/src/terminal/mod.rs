//! The simulated Mini LVB app: its constants, flows and app-visible errors.
