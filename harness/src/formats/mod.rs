//! File formats the customer's deployment and logs come in, one parser per format, used both to read them and to
//! write them.

pub mod app_source;
pub mod ini;
pub mod php;
pub mod text;
