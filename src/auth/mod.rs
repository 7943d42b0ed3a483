//! OAuth sign-in and token refresh. SKELETON: to be written.
