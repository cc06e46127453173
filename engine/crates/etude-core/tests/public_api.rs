//! Uses `etude-core` only through its public API, as a front end would.

use etude_core::audio::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use etude_core::{
    detect_onsets, levels, EngineError, OnsetConfig, StreamingAnalyser, SILENCE_FLOOR_DBFS,
};

const SR: u32 = 48_000;

/// Decaying 330 Hz tones starting at the given times (seconds).
fn notes(times: &[f64], seconds: f64) -> Vec<f32> {
    let mut out = vec![0.0f32; (seconds * f64::from(SR)) as usize];
    for &t0 in times {
        let start = (t0 * f64::from(SR)) as usize;
        for (j, y) in out[start..].iter_mut().enumerate().take(SR as usize) {
            let t = j as f64 / f64::from(SR);
            *y += (0.2 * (-t / 0.08).exp() * (std::f64::consts::TAU * 330.0 * t).sin()) as f32;
        }
    }
    out
}

#[test]
fn whole_buffer_and_stream_agree() {
    let times = [0.4, 0.9, 1.4];
    let x = notes(&times, 2.0);
    let batch = detect_onsets(&x, SR, OnsetConfig::default()).unwrap();
    assert_eq!(batch.len(), 3);
    for (o, t) in batch.iter().zip(times) {
        assert!((o.time - t).abs() <= 512.0 / f64::from(SR), "{o:?}");
    }

    let mut analyser = StreamingAnalyser::new(SR, OnsetConfig::default()).unwrap();
    let mut streamed = Vec::new();
    for chunk in x.chunks(480) {
        let figures = analyser.process(chunk).unwrap();
        assert!(figures.rms_dbfs <= figures.peak_dbfs);
        streamed.extend(figures.onsets);
    }
    assert_eq!(streamed, batch);
    assert_eq!(analyser.samples_seen(), x.len() as u64);
}

#[test]
fn errors_are_std_errors() {
    fn as_std(e: EngineError) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(e)
    }
    assert!(as_std(levels(&[]).unwrap_err())
        .to_string()
        .contains("empty"));
    assert_eq!(levels(&[0.0]).unwrap().peak_dbfs, SILENCE_FLOOR_DBFS,);
    for sr in [MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1] {
        assert!(matches!(
            StreamingAnalyser::new(sr, OnsetConfig::default()),
            Err(EngineError::BadSampleRate { .. })
        ));
    }
}
