//! `crpki sign`'s inputs and outputs: files from the command line or from
//! a list (`--files-from`, `-0`), `-` for standard input to standard
//! output, the library's pipelined batch signer
//! ([`crpki::cms::sign_pipeline`]) in between, a progress bar on a terminal
//! and `--json` result lines.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use crpki::cms::{self, Existing, PipelineEvent, PipelineOptions, SignJob, SignOptions};
use crpki::{Error, RemoteSigner};

use crate::{CliResult, Failure, fail};

#[derive(Args)]
pub struct SignArgs {
    /// The files to sign; `-` alone signs standard input and writes the
    /// signature (DER) to standard output.
    #[arg(required_unless_present = "files_from")]
    pub files: Vec<PathBuf>,
    /// Also sign the files named in LIST, one path per line (`-`: read the
    /// list from standard input); read as the batch goes, so it may be long.
    #[arg(long, value_name = "LIST")]
    pub files_from: Option<PathBuf>,
    /// The --files-from list is NUL-separated (as `find -print0` writes).
    #[arg(short = '0', long = "null", requires = "files_from")]
    pub null: bool,
    /// Sign with this PKCS#12 file (the legacy 商業登記電子証明書 file) instead of the remote service.
    #[arg(long, value_name = "P12")]
    pub p12: Option<PathBuf>,
    /// Read the PKCS#12 password from this environment variable
    /// (otherwise it is asked for on the terminal).
    #[arg(long, value_name = "VAR", requires = "p12")]
    pub password_env: Option<String>,
    /// Where to write the signature (default FILE.p7s; one input file only).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Refuse to replace an existing signature file: checked before anything
    /// is signed (by default an existing FILE.p7s is replaced).
    #[arg(long)]
    pub no_clobber: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON object per line on standard output: for each file
    /// signed {"path", "signature", "signer", "error": null} once all are
    /// written; on failure one line naming the file ("path", or null for
    /// the whole batch) and the "error". Exit 0 only if every file was signed.
    #[arg(long)]
    pub json: bool,
    /// Add a signature timestamp from an RFC 3161 TSA (CAdES-T): the TSA
    /// of --tsa, else the profile's tsa_url (the sandbox profile knows its
    /// sandbox's). One request per signature.
    #[arg(long)]
    pub timestamp: bool,
    /// The TSA's URL (implies --timestamp).
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
    /// Root(s) the TSA's certificate must chain to (PEM or DER); default:
    /// the profile's tsa_root_file when the TSA is the profile's.
    #[arg(long, value_name = "ROOT")]
    pub tsa_ca: Vec<PathBuf>,
}

impl SignArgs {
    /// The timestamp options.
    pub fn stamp_args(&self) -> crate::timestamp::StampArgs<'_> {
        crate::timestamp::StampArgs {
            timestamp: self.timestamp,
            tsa: self.tsa.as_deref(),
            tsa_ca: &self.tsa_ca,
        }
    }

    pub fn existing(&self) -> Existing {
        if self.no_clobber {
            Existing::Refuse
        } else {
            Existing::Replace
        }
    }

    /// `-` alone: standard input to standard output.
    pub fn is_stdin(&self) -> bool {
        self.files.len() == 1 && self.files[0].as_os_str() == "-" && self.files_from.is_none()
    }

    /// Refuses combinations that make no sense, before any work.
    pub fn check(&self) -> CliResult {
        let dash = self.files.iter().any(|f| f.as_os_str() == "-");
        if dash && !self.is_stdin() {
            return Err(fail(
                "`-` (standard input) must be the only file, without --files-from",
            ));
        }
        if self.is_stdin() && self.json {
            return Err(fail(
                "--json prints to standard output, where `-` writes the signature",
            ));
        }
        if self.is_stdin() && self.out.is_some() {
            return Err(fail("`-` writes the signature to standard output; no --out"));
        }
        if self.out.is_some() && (self.files.len() != 1 || self.files_from.is_some()) {
            return Err(fail("--out needs exactly one file"));
        }
        Ok(())
    }

    /// The jobs: the command line's files (checked for --no-clobber here,
    /// before anything is signed), then the list's, read as they are
    /// needed; and their number when known.
    pub fn jobs(&self) -> CliResult<(Jobs, Option<u64>)> {
        let existing = self.existing();
        let named: Vec<SignJob> = match &self.out {
            Some(out) => self
                .files
                .iter()
                .map(|f| SignJob {
                    input: f.clone(),
                    output: out.clone(),
                })
                .collect(),
            None => self.files.iter().map(SignJob::beside).collect(),
        };
        if existing == Existing::Refuse {
            for job in &named {
                cms::check_output(&job.output, existing)?;
            }
        }
        let count = named.len() as u64;
        let named = named.into_iter().map(Ok);
        let Some(list) = &self.files_from else {
            return Ok((Box::new(named), Some(count)));
        };
        let reader: Box<dyn std::io::Read + Send> = if list.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(
                std::fs::File::open(list)
                    .map_err(|e| Error::io(format!("opening {}", crpki::text::path(list)), e))?,
            )
        };
        let listed = cms::read_path_list(reader, self.null).map(|p| p.map(SignJob::beside));
        Ok((Box::new(named.chain(listed)), None))
    }

    /// How the outputs are written.
    pub fn options(&self) -> PipelineOptions {
        PipelineOptions::with_existing(self.existing())
    }
}

/// The jobs of one `crpki sign`.
pub type Jobs = Box<dyn Iterator<Item = crpki::Result<SignJob>> + Send>;

/// How results are shown.
#[derive(Clone, Copy)]
pub struct Show {
    pub quiet: bool,
    pub json: bool,
}

/// One `--json` line.
pub fn json_line(
    path: Option<&std::path::Path>,
    signature: Option<&std::path::Path>,
    signer: Option<&str>,
    error: Option<&str>,
) {
    let value = serde_json::json!({
        "path": path.map(|p| crpki::text::path(p).into_owned()),
        "signature": signature.map(|p| crpki::text::path(p).into_owned()),
        "signer": signer,
        "error": error,
    });
    out!("{value}");
}

/// Reports an error that happened before any file was tried (`--json`:
/// as a line for the whole batch) and passes it on.
pub fn early(show: Show, f: Failure) -> Failure {
    if show.json {
        json_line(None, None, None, Some(&f.message));
    }
    f
}

/// Signs the jobs through the pipeline: a progress bar on a terminal
/// (unless quiet or `--json`), a line per file with `--json`. Returns the
/// number of files signed.
pub async fn sign_jobs(
    signer: &dyn RemoteSigner,
    jobs: Jobs,
    count: Option<u64>,
    options: &PipelineOptions,
    show: Show,
    stamper: Option<&crate::timestamp::Stamper>,
) -> CliResult<u64> {
    // Memory follows what is in flight, not how long the batch runs.
    crpki::memory::return_large_buffers();
    // --timestamp: the pipeline asks the TSA for each signature.
    let mut options = options.clone();
    options.timestamps = stamper.map(crate::timestamp::Stamper::client);
    let options = &options;
    let show_bar = !show.quiet && !show.json && count != Some(1) && std::io::stderr().is_terminal();
    let bar = match (show_bar, count) {
        (false, _) => indicatif::ProgressBar::hidden(),
        (true, Some(n)) => {
            let bar = indicatif::ProgressBar::new(n);
            if let Ok(style) = indicatif::ProgressStyle::with_template("signing [{bar:40}] {pos}/{len}") {
                bar.set_style(style);
            }
            bar
        }
        (true, None) => {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} signed {pos}") {
                bar.set_style(style);
            }
            bar
        }
    };
    let subject = signer.certificate().subject();
    let result = cms::sign_pipeline(signer, jobs, options, |event| match event {
        PipelineEvent::Signed { files } => bar.set_position(files),
        PipelineEvent::Done(job) if show.json => {
            json_line(Some(&job.input), Some(&job.output), Some(&subject), None);
        }
        _ => {}
    })
    .await;
    bar.finish_and_clear();
    match result {
        Ok(n) => Ok(n),
        Err(failure) => {
            let input = failure.input.clone();
            let f = Failure::from(failure.error);
            if show.json {
                json_line(input.as_deref(), None, Some(&subject), Some(&f.message));
            }
            Err(f)
        }
    }
}

/// `-`: signs standard input and writes the DER signature to standard
/// output (refused when that is a terminal).
pub async fn sign_stdin(signer: &dyn RemoteSigner, stamper: Option<&crate::timestamp::Stamper>) -> CliResult {
    if std::io::stdout().is_terminal() {
        return Err(fail(
            "refusing to write a DER signature to a terminal: redirect standard output",
        ));
    }
    let mut cms = cms::sign_reader(signer, std::io::stdin(), &SignOptions::default()).await?;
    if let Some(stamper) = stamper {
        cms = stamper.stamp(&cms).await?;
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&cms)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("writing the signature to standard output", e))?;
    Ok(())
}
