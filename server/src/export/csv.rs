//! CSV (RFC 4180: comma-separated, `"`-quoted when needed, CRLF-free `\n` lines) of a run's requests and GPU samples.
//! Text cells are neutralised against formula injection ([`text`]); numbers are written as numbers.

use std::fmt::Write;

use protocol::event::RequestRecord;
use protocol::gpu::GpuSample;

/// Columns of `requests.csv`, in order.
pub const REQUEST_COLUMNS: &str = "step,index,t_send_ms,scheduler_lag_ms,ttft_ms,e2e_ms,tpot_ms,output_tokens,\
requested_tokens,input_tokens,token_source,warmup,retried,error_class,error_status,error_message";

/// Columns of `telemetry.csv`, in order.
pub const TELEMETRY_COLUMNS: &str = "unix_ms,t_s,gpu_index,uuid,simulated,util_gpu_percent,util_mem_percent,\
mem_used_bytes,mem_total_bytes,power_w,power_limit_w,temperature_c,sm_clock_mhz,mem_clock_mhz,energy_j,\
gpm_sm_activity_percent,gpm_sm_occupancy_percent,gpm_tensor_activity_percent,gpm_dram_bw_util_percent,\
pcie_tx_bytes_per_s,pcie_rx_bytes_per_s,throttle_reasons";

/// A field, quoted when it holds a comma, a quote or a line break. For numbers and our own words; text from a
/// target or a user goes through [`text`].
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A text cell that a spreadsheet cannot run (OWASP, CSV injection): a value whose first character — or first
/// after leading whitespace — is `=`, `+`, `-` or `@`, or that starts with a tab or a carriage return, gets a
/// leading `'` so it is read as text; then it is quoted as [`field`] does. Every text column goes through here.
pub fn text(s: &str) -> String {
    let formula = s.starts_with(['\t', '\r']) || s.trim_start().starts_with(['=', '+', '-', '@']);
    if formula {
        field(&format!("'{s}"))
    } else {
        field(s)
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One line per request, warmup and failures included (the `warmup` and `error_class` columns tell them apart).
pub fn requests(records: &[RequestRecord]) -> String {
    let mut out = String::with_capacity(64 + records.len() * 96);
    out.push_str(REQUEST_COLUMNS);
    out.push('\n');
    for r in records {
        let err = r.error.as_ref();
        let source = r.token_source.as_str();
        let _ = writeln!(
            out,
            "{},{},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.step,
            r.index,
            r.t_send_ms,
            r.scheduler_lag_ms,
            opt(r.ttft_ms.map(|v| format!("{v:.3}"))),
            opt(r.e2e_ms.map(|v| format!("{v:.3}"))),
            opt(r.tpot_ms.map(|v| format!("{v:.3}"))),
            r.output_tokens,
            r.requested_tokens,
            r.input_tokens,
            source,
            r.warmup,
            r.retried,
            opt(err.map(|e| e.class.as_str())),
            opt(err.and_then(|e| e.status)),
            text(err.map(|e| e.message.as_str()).unwrap_or("")),
        );
    }
    out
}

/// One line per GPU sample; `t_s` is seconds since `origin_ms` (the run's load start). Absent readings are empty.
pub fn telemetry(samples: &[GpuSample], origin_ms: u64) -> String {
    let mut out = String::with_capacity(64 + samples.len() * 160);
    out.push_str(TELEMETRY_COLUMNS);
    out.push('\n');
    for s in samples {
        let t_s = (s.unix_ms as f64 - origin_ms as f64) / 1000.0;
        let throttle = s.throttle_reasons.as_ref().map(|r| r.join(";"));
        let _ = writeln!(
            out,
            "{},{t_s:.3},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            s.unix_ms,
            s.index,
            text(&s.uuid),
            s.simulated,
            opt(s.util_gpu_percent),
            opt(s.util_mem_percent),
            opt(s.mem_used_bytes),
            opt(s.mem_total_bytes),
            opt(s.power_w),
            opt(s.power_limit_w),
            opt(s.temperature_c),
            opt(s.sm_clock_mhz),
            opt(s.mem_clock_mhz),
            opt(s.energy_j),
            opt(s.gpm_sm_activity_percent),
            opt(s.gpm_sm_occupancy_percent),
            opt(s.gpm_tensor_activity_percent),
            opt(s.gpm_dram_bw_util_percent),
            opt(s.pcie_tx_bytes_per_s),
            opt(s.pcie_rx_bytes_per_s),
            text(throttle.as_deref().unwrap_or("")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::record::{ErrorClass, RequestError, TokenSource};

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
    }

    #[test]
    fn formula_cells_are_read_as_text() {
        assert_eq!(text("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(text("@SUM(1+1)*cmd|' /C calc'!A0"), "'@SUM(1+1)*cmd|' /C calc'!A0");
        assert_eq!(text("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-2+3"), "'-2+3");
        assert_eq!(text("  =1+1"), "'  =1+1", "after leading whitespace too");
        assert_eq!(text("\t=1"), "'\t=1");
        assert_eq!(text("\rx"), "\"'\rx\"");
        assert_eq!(text("a=b"), "a=b");
        assert_eq!(text("plain, text"), "\"plain, text\"");
        assert_eq!(text(""), "");
    }

    #[test]
    fn numbers_stay_numbers() {
        let r = RequestRecord {
            step: 0,
            index: 0,
            t_send_ms: -1.5,
            scheduler_lag_ms: -0.25,
            ttft_ms: None,
            e2e_ms: None,
            tpot_ms: None,
            output_tokens: 0,
            input_tokens: 0,
            token_source: TokenSource::Chunks,
            requested_tokens: 0,
            retried: false,
            warmup: false,
            error: Some(RequestError { class: ErrorClass::HttpStatus, status: Some(500), message: "-1".into() }),
        };
        let csv = requests(&[r]);
        let line = csv.lines().nth(1).unwrap();
        assert!(line.starts_with("0,0,-1.500,-0.250,"), "{line}");
        assert!(line.ends_with(",http_status,500,'-1"), "a message is text: {line}");
        let s = GpuSample { uuid: "-GPU".into(), unix_ms: 0, ..Default::default() };
        let line = telemetry(&[s], 1_000).lines().nth(1).unwrap().to_owned();
        assert!(line.starts_with("0,-1.000,0,'-GPU,"), "{line}");
    }

    #[test]
    fn request_lines_have_every_column() {
        let ok = RequestRecord {
            step: 0,
            index: 3,
            t_send_ms: 1.0,
            scheduler_lag_ms: 0.0,
            ttft_ms: Some(12.0),
            e2e_ms: Some(40.5),
            tpot_ms: None,
            output_tokens: 1,
            input_tokens: 8,
            token_source: TokenSource::Usage,
            requested_tokens: 0,
            retried: false,
            warmup: false,
            error: None,
        };
        let bad = RequestRecord {
            ttft_ms: None,
            e2e_ms: None,
            error: Some(RequestError { class: ErrorClass::HttpStatus, status: Some(404), message: "no, \"x\"".into() }),
            ..ok.clone()
        };
        let csv = requests(&[ok, bad]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let columns = REQUEST_COLUMNS.split(',').count();
        assert_eq!(lines[1], "0,3,1.000,0.000,12.000,40.500,,1,0,8,usage,false,false,,,");
        assert_eq!(lines[1].split(',').count(), columns);
        assert!(lines[2].ends_with(",http_status,404,\"no, \"\"x\"\"\""), "{}", lines[2]);
    }

    #[test]
    fn telemetry_lines_leave_absent_readings_empty() {
        let s =
            GpuSample { index: 1, uuid: "GPU-1".into(), unix_ms: 2_500, power_w: Some(350.5), ..Default::default() };
        let csv = telemetry(&[s], 1_000);
        let line = csv.lines().nth(1).unwrap();
        assert!(line.starts_with("2500,1.500,1,GPU-1,false,,,,,350.5,"), "{line}");
        assert_eq!(line.split(',').count(), TELEMETRY_COLUMNS.split(',').count());
    }
}
