//! Peak dense BF16 FLOP/s and memory bandwidth of common inference GPUs, for estimated MBU/MFU. Every entry names its
//! source. Dense means without 2:4 structured sparsity (datasheets often headline the sparse figure, twice this).
//! A GPU is matched by substrings of its NVML name, case-insensitively; the first entry that matches wins.

/// One GPU model's peaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuPeak {
    /// Display name of the entry, e.g. `NVIDIA H200 (SXM)`.
    pub name: &'static str,
    /// Every one of these must occur in the lower-cased NVML name.
    pub all_of: &'static [&'static str],
    /// None of these may occur in the lower-cased NVML name.
    pub none_of: &'static [&'static str],
    /// Dense BF16 tensor peak, FLOP/s.
    pub bf16_dense_flops: f64,
    /// Peak memory bandwidth, bytes/s.
    pub mem_bw_bytes_per_s: f64,
    /// Where the numbers come from.
    pub source: &'static str,
}

const T: f64 = 1e12;
const GB: f64 = 1e9;

/// The table, most specific entries first.
pub const PEAKS: &[GpuPeak] = &[
    GpuPeak {
        name: "NVIDIA H200 NVL",
        all_of: &["h200", "nvl"],
        none_of: &[],
        bf16_dense_flops: 835.0 * T,
        mem_bw_bytes_per_s: 4_800.0 * GB,
        source: "NVIDIA H200 Tensor Core GPU datasheet, H200 NVL column (1,671 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA H200 (SXM)",
        all_of: &["h200"],
        none_of: &["nvl"],
        bf16_dense_flops: 989.0 * T,
        mem_bw_bytes_per_s: 4_800.0 * GB,
        source: "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column (1,979 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA H100 NVL",
        all_of: &["h100", "nvl"],
        none_of: &[],
        bf16_dense_flops: 835.0 * T,
        mem_bw_bytes_per_s: 3_900.0 * GB,
        source: "NVIDIA H100 Tensor Core GPU datasheet, H100 NVL column (1,671 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA H100 PCIe",
        all_of: &["h100", "pcie"],
        none_of: &[],
        bf16_dense_flops: 756.0 * T,
        mem_bw_bytes_per_s: 2_000.0 * GB,
        source: "NVIDIA H100 Tensor Core GPU datasheet, H100 PCIe column (1,513 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA H100 (SXM)",
        all_of: &["h100"],
        none_of: &["nvl", "pcie"],
        bf16_dense_flops: 989.0 * T,
        mem_bw_bytes_per_s: 3_350.0 * GB,
        source: "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column (1,979 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA A100 40GB",
        all_of: &["a100", "40gb"],
        none_of: &[],
        bf16_dense_flops: 312.0 * T,
        mem_bw_bytes_per_s: 1_555.0 * GB,
        source: "NVIDIA A100 Tensor Core GPU datasheet, A100 40GB columns (624 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA A100 80GB PCIe",
        all_of: &["a100", "pcie"],
        none_of: &["40gb"],
        bf16_dense_flops: 312.0 * T,
        mem_bw_bytes_per_s: 1_935.0 * GB,
        source: "NVIDIA A100 Tensor Core GPU datasheet, A100 80GB PCIe column",
    },
    GpuPeak {
        name: "NVIDIA A100 (SXM 80GB)",
        all_of: &["a100"],
        none_of: &["40gb", "pcie"],
        bf16_dense_flops: 312.0 * T,
        mem_bw_bytes_per_s: 2_039.0 * GB,
        source: "NVIDIA A100 Tensor Core GPU datasheet, A100 80GB SXM column (624 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA L40S",
        all_of: &["l40s"],
        none_of: &[],
        bf16_dense_flops: 362.05 * T,
        mem_bw_bytes_per_s: 864.0 * GB,
        source: "NVIDIA L40S GPU datasheet (733 TFLOPS BF16 with sparsity)",
    },
    GpuPeak {
        name: "NVIDIA GeForce RTX 4090",
        all_of: &["4090"],
        none_of: &[],
        bf16_dense_flops: 165.2 * T,
        mem_bw_bytes_per_s: 1_008.0 * GB,
        source: "NVIDIA Ada Lovelace GPU Architecture whitepaper, appendix table: peak BF16 tensor TFLOPS with \
                 FP32 accumulate 165.2 (330.4 with sparsity); 1,008 GB/s GDDR6X",
    },
    GpuPeak {
        name: "NVIDIA A10G",
        all_of: &["a10g"],
        none_of: &[],
        bf16_dense_flops: 70.0 * T,
        mem_bw_bytes_per_s: 600.0 * GB,
        source: "No NVIDIA datasheet exists for the AWS-only A10G: 600 GB/s from the AWS EC2 G5 instance page; \
                 70 TFLOPS = 80 SMs x 1.71 GHz boost x 512 dense BF16 FLOP/clock/SM (GA10x rate with FP32 \
                 accumulate), the figure AWS-facing comparisons quote",
    },
];

/// The peak entry for an NVML GPU name, if the table knows it.
pub fn peak_for(gpu_name: &str) -> Option<&'static GpuPeak> {
    let name = gpu_name.to_lowercase();
    PEAKS.iter().find(|p| p.all_of.iter().all(|s| name.contains(s)) && !p.none_of.iter().any(|s| name.contains(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvml_names_match_the_right_entry() {
        let cases = [
            ("NVIDIA H200", "NVIDIA H200 (SXM)"),
            ("NVIDIA H200 NVL", "NVIDIA H200 NVL"),
            ("NVIDIA H100 80GB HBM3", "NVIDIA H100 (SXM)"),
            ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe"),
            ("NVIDIA H100 NVL", "NVIDIA H100 NVL"),
            ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 (SXM 80GB)"),
            ("NVIDIA A100-SXM4-40GB", "NVIDIA A100 40GB"),
            ("NVIDIA A100 80GB PCIe", "NVIDIA A100 80GB PCIe"),
            ("NVIDIA L40S", "NVIDIA L40S"),
            ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"),
            ("NVIDIA A10G", "NVIDIA A10G"),
            ("Simulated H200 (tokenscope demo)", "NVIDIA H200 (SXM)"),
        ];
        for (nvml, entry) in cases {
            assert_eq!(peak_for(nvml).map(|p| p.name), Some(entry), "{nvml}");
        }
        assert!(peak_for("NVIDIA A10").is_none(), "the A10 is not the A10G");
        assert!(peak_for("Tesla T4").is_none());
    }

    #[test]
    fn every_entry_cites_a_source_and_has_sane_units() {
        for p in PEAKS {
            assert!(p.source.len() > 20, "{}", p.name);
            assert!((50e12..2e15).contains(&p.bf16_dense_flops), "{} FLOP/s", p.name);
            assert!((500e9..6e12).contains(&p.mem_bw_bytes_per_s), "{} B/s", p.name);
        }
    }
}
