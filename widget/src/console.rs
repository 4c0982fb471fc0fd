//! The widget's only output channel besides the DOM: warnings in the browser console.

use wasm_bindgen::{JsCast, JsValue};

/// Writes `message` with `console.warn`.
pub(crate) fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}

/// Describes a thrown JavaScript value: an `Error`'s name and message, a string as it is.
pub(crate) fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        format!("{}: {}", String::from(error.name()), String::from(error.message()))
    } else if let Some(text) = error.as_string() {
        text
    } else {
        "an unknown JavaScript error".to_owned()
    }
}
