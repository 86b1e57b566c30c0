//! Hardware: what an accelerator (or a CPU socket acting as one) can do, and the node
//! types a cluster is built from.

use inferscale_engine::Dist;

/// Whether a node type computes on GPUs or on CPU cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// Discrete accelerators (GPUs).
    Gpu,
    /// CPU cores (with matrix extensions such as AMX where the part has them).
    Cpu,
}

/// The performance-relevant numbers of one accelerator. For a CPU node type the
/// "accelerator" is the node's whole share of CPU cores and memory.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceleratorSpec {
    /// GPU or CPU.
    pub kind: DeviceKind,
    /// Peak dense BF16/FP16 throughput, FLOP/s (no sparsity).
    pub peak_flops: f64,
    /// Peak dense INT8 throughput, OP/s, where the part has it.
    pub peak_int8_ops: Option<f64>,
    /// Device memory, bytes.
    pub memory_bytes: f64,
    /// Device memory bandwidth, bytes/s.
    pub memory_bandwidth: f64,
    /// Bandwidth between accelerators of one node, bytes/s per direction (NVLink, or
    /// PCIe where there is none); what tensor-parallel all-reduces run over.
    pub interconnect_bandwidth: f64,
}

/// A kind of node a cluster can rent: its accelerators, price and boot time.
#[derive(Clone, Debug)]
pub struct NodeType {
    /// Name the scenario uses.
    pub name: String,
    /// One accelerator's capabilities.
    pub accelerator: AcceleratorSpec,
    /// Accelerators per node.
    pub accelerators_per_node: u32,
    /// On-demand price of the whole node, dollars per hour.
    pub price_per_hour: f64,
    /// Spot price of the whole node, dollars per hour, where spot is offered.
    pub spot_price_per_hour: Option<f64>,
    /// Time from request until the node can start loading a model, seconds.
    pub boot_time: Dist,
    /// Bandwidth at which model weights load onto the node (from local NVMe or a
    /// nearby object store), bytes/s.
    pub load_bandwidth: f64,
    /// Most nodes of this type the cluster may hold at once (the quota).
    pub max_count: Option<u32>,
}
