//! Workspace-level end-to-end tests live beside this file.
