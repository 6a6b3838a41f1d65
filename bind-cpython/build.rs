//! PyO3's configuration cfgs for this crate too (`Py_GIL_DISABLED`, `Py_3_*`): the binding
//! keeps its GIL-free state behind `cfg(Py_GIL_DISABLED)` (src/gil.rs).
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
