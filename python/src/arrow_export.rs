//! Tables to `pyarrow.Table` through the Arrow C stream interface: the batches'
//! buffers are handed over, not copied.

use arrow_array::RecordBatch;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_schema::SchemaRef;
use pyo3::prelude::*;

/// `batches` (all of `schema`) as a `pyarrow.Table`. The schema's metadata (the
/// provenance inferscale writes into every Parquet file) travels with it.
pub fn to_pyarrow<'py>(
    py: Python<'py>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyAny>> {
    let reader = arrow_array::RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let mut stream = FFI_ArrowArrayStream::new(Box::new(reader));
    // pyarrow moves the stream out of the struct (leaving it released), so dropping
    // ours afterwards frees nothing twice; until then it owns the batches.
    let address = std::ptr::addr_of_mut!(stream) as usize;
    let pyarrow = py.import("pyarrow")?;
    let reader = pyarrow
        .getattr("RecordBatchReader")?
        .call_method1("_import_from_c", (address,))?;
    let table = reader.call_method0("read_all")?;
    drop(stream);
    Ok(table)
}
