//! The importers that build the embedded enrichment datasets from public sources:
//! `sigwiki data import-data-needed` and `sigwiki data import-atomics`.
//!
//! The Data Needed catalog is assembled from, in order of authority:
//!
//! - **OTRF/OSSEM-DD**: event names and field names of Sysmon (Windows, with the Sysmon manifest
//!   schema for fields and for events 24–29 that have no YAML), Sysmon for Linux, the Windows
//!   Security log, the classic PowerShell log, and the PowerShell, Eventlog, TaskScheduler and
//!   WMI-Activity providers. A provider's events get the channel their sample shows, else the
//!   channel atc-data gives, else the channel the Sigma taxonomy gives the provider's service;
//!   events with none of these (most PowerShell ETW events, which go to analytic channels) are
//!   left out.
//! - **atc-project/atc-data**: Windows events OSSEM-DD lacks (System 7045, 7036, …), and field
//!   lists for a few non-Windows logs (sshd, auth, syslog, Azure sign-in and audit logs).
//! - **the Sigma taxonomy appendix**: which log source means which events (categories →
//!   event IDs and channels), the channel of every Windows service, every other log source it
//!   names (cloud, network, Linux services, …) as a log-level entry, and the field lists of its
//!   "Specific" section.
//! - **SigmaHQ `logsource.json`**: further log sources and their field names, used for
//!   log-level entries (never replacing a dictionary's event fields). A Linux category it lists
//!   is mapped to the Sysmon for Linux event of the same Windows category.
//! - **the curated file** (`data/data-needed-curated.yaml`, sigwiki's own facts, in the override
//!   format of [`crate::enrich::overrides`]): names where the dictionaries give only an ETW task
//!   placeholder, Security 4688 for `process_creation`, display names of cloud logs.
//!
//! Output is deterministic: entries are sorted by id and written one per line.

pub mod atc;
pub mod atomics;
pub mod ossem;
pub mod sigma_fields;
pub mod taxonomy;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub use atomics::import_atomics;

use super::data_needed::{CATALOG_FORMAT, CatalogData, Entry, LogSourceKey, Source};
use super::overrides::{self, DataNeededError, is_valid_id};
use atc::AtcItem;
use ossem::{OssemEvent, OssemLog};
use taxonomy::Taxonomy;

/// A problem reading an importer's sources.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or folder cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A source file is invalid.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An expected file or folder is missing.
    #[error("{}: {message}", path.display())]
    Missing {
        /// Where it was expected.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// The curated file is invalid.
    #[error(transparent)]
    Curated(#[from] DataNeededError),
    /// The sources contradict each other.
    #[error("{0}")]
    Inconsistent(String),
}

impl ImportError {
    fn yaml(path: &Path, error: &serde_yaml::Error) -> ImportError {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message.get(..i).unwrap_or(&message).to_string(),
            None => message,
        };
        ImportError::Invalid {
            path: path.to_path_buf(),
            line: error.location().map_or(1, |l| l.line()),
            message,
        }
    }
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The inputs of the Data Needed importer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataNeededInputs {
    /// An OTRF/OSSEM-DD checkout (the folder holding `windows/` and `linux/`).
    pub ossem: PathBuf,
    /// An atc-project/atc-data checkout (or its `data_needed` folder).
    pub atc: PathBuf,
    /// The Sigma taxonomy appendix (`sigma-appendix-taxonomy.md`).
    pub taxonomy: PathBuf,
    /// SigmaHQ's `logsource.json`.
    pub logsource_fields: PathBuf,
    /// sigwiki's curated additions (`data/data-needed-curated.yaml`).
    pub curated: Option<PathBuf>,
}

const OSSEM: &str = "ossem-dd";
const ATC: &str = "atc-data";
const TAXONOMY: &str = "sigma-taxonomy";
const LOGSOURCE_JSON: &str = "sigmahq-logsource";
const CURATED: &str = "sigwiki";

fn known_sources() -> Vec<Source> {
    let source =
        |key: &str, name: &str, url: Option<&str>, licence: &str, attribution: &str| Source {
            key: key.to_string(),
            name: name.to_string(),
            url: url.map(str::to_string),
            licence: Some(licence.to_string()),
            attribution: Some(attribution.to_string()),
        };
    vec![
        source(
            OSSEM,
            "OTRF/OSSEM-DD",
            Some("https://github.com/OTRF/OSSEM-DD"),
            "MIT",
            "Copyright (c) 2022 Open Threat Research Forge",
        ),
        source(
            ATC,
            "atc-project/atc-data",
            Some("https://github.com/atc-project/atc-data"),
            "Apache-2.0",
            "Atomic Threat Coverage project",
        ),
        source(
            TAXONOMY,
            "Sigma specification, taxonomy appendix",
            Some("https://github.com/SigmaHQ/sigma-specification"),
            "public domain",
            "SigmaHQ",
        ),
        source(
            LOGSOURCE_JSON,
            "SigmaHQ/sigma tests/logsource.json",
            Some("https://github.com/SigmaHQ/sigma"),
            "field names only",
            "SigmaHQ",
        ),
        source(
            CURATED,
            "sigwiki curated mappings",
            None,
            "MIT",
            "sigwiki contributors",
        ),
    ]
}

/// OSSEM-DD providers whose events all go to the channel of a Sigma taxonomy Windows service.
const PROVIDER_SERVICES: &[(&str, &str)] = &[
    ("Microsoft-Windows-Sysmon", "sysmon"),
    ("Microsoft-Windows-Security-Auditing", "security"),
    ("Microsoft-Windows-TaskScheduler", "taskscheduler"),
    ("Microsoft-Windows-WMI-Activity", "wmi"),
    ("PowerShell", "powershell-classic"),
];

/// Short log names for event titles (`Sysmon 3: …`), by Sigma Windows service.
const LOG_DISPLAY: &[(&str, &str)] = &[
    ("application", "Application"),
    ("dns-server", "DNS Server"),
    ("driver-framework", "DriverFrameworks-UserMode"),
    ("ntlm", "NTLM"),
    ("powershell", "PowerShell"),
    ("powershell-classic", "Windows PowerShell"),
    ("security", "Security"),
    ("sysmon", "Sysmon"),
    ("system", "System"),
    ("taskscheduler", "Task Scheduler"),
    ("windefend", "Windows Defender"),
    ("wmi", "WMI-Activity"),
];

/// Display names of Sigma products, for log-level entry names.
const PRODUCT_DISPLAY: &[(&str, &str)] = &[
    ("aws", "AWS"),
    ("azure", "Azure"),
    ("bitbucket", "Bitbucket"),
    ("cisco", "Cisco"),
    ("django", "Django"),
    ("fortigate", "FortiGate"),
    ("fortios", "FortiOS"),
    ("gcp", "Google Cloud"),
    ("github", "GitHub"),
    ("huawei", "Huawei"),
    ("juniper", "Juniper"),
    ("jvm", "JVM"),
    ("kubernetes", "Kubernetes"),
    ("linux", "Linux"),
    ("m365", "Microsoft 365"),
    ("macos", "macOS"),
    ("modsecurity", "ModSecurity"),
    ("nodejs", "Node.js"),
    ("okta", "Okta"),
    ("onelogin", "OneLogin"),
    ("opencanary", "OpenCanary"),
    ("paloalto", "Palo Alto Networks"),
    ("python", "Python"),
    ("qualys", "Qualys"),
    ("rpc_firewall", "RPC Firewall"),
    ("ruby_on_rails", "Ruby on Rails"),
    ("spring", "Spring"),
    ("sql", "SQL"),
    ("velocity", "Velocity"),
    ("windows", "Windows"),
    ("zeek", "Zeek"),
];

/// An atc-data item title and the (product, category, service) of the Sigma log source it is.
type AtcLog = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// atc-data items describing a whole log rather than one event, and the Sigma log source
/// they are.
const ATC_LOGS: &[AtcLog] = &[
    ("DN_0084_av_alert", None, Some("antivirus"), None),
    (
        "DN_0091_linux_modsecurity_log",
        Some("linux"),
        None,
        Some("modsecurity"),
    ),
    (
        "DN_0092_unix_generic_syslog",
        Some("linux"),
        None,
        Some("syslog"),
    ),
    (
        "DN_0093_linux_clamav_log",
        Some("linux"),
        None,
        Some("clamav"),
    ),
    ("DN_0094_linux_sshd_log", Some("linux"), None, Some("sshd")),
    (
        "DN_0095_linux_auth_pam_log",
        Some("linux"),
        None,
        Some("auth"),
    ),
    (
        "DN_0098_linux_vsftpd_log",
        Some("linux"),
        None,
        Some("vsftpd"),
    ),
    (
        "DN_0136_azure_AD_SigninLogs",
        Some("azure"),
        None,
        Some("signinlogs"),
    ),
    (
        "DN_0137_azure_AD_AuditLogs",
        Some("azure"),
        None,
        Some("auditlogs"),
    ),
];

/// Builds the Data Needed catalog from its sources.
pub fn import_data_needed(inputs: &DataNeededInputs) -> Result<CatalogData, ImportError> {
    let taxonomy = taxonomy::parse(&read_text(&inputs.taxonomy)?);
    if taxonomy.rows.is_empty() {
        return Err(ImportError::Missing {
            path: inputs.taxonomy.clone(),
            message: "no log source tables found in the taxonomy appendix".to_string(),
        });
    }
    let field_lists = sigma_fields::read(&inputs.logsource_fields)?;
    let ossem_events = ossem::read_events(&inputs.ossem)?;
    let schema = read_schema(&inputs.ossem)?;
    let atc_items = atc::read_items(&inputs.atc)?;

    let mut builder = Builder::new(&taxonomy);
    builder.add_windows_sysmon(&ossem_events, &schema)?;
    builder.add_ossem_windows(&ossem_events, &atc_items)?;
    builder.add_linux_sysmon(&ossem_events);
    builder.add_atc_windows_events(&atc_items);
    builder.add_taxonomy_categories();
    builder.add_linux_analogies(&field_lists);
    builder.add_log_entries(&field_lists);
    builder.fill_log_fields(&field_lists, &atc_items);

    let mut data = CatalogData {
        format: CATALOG_FORMAT,
        sources: Vec::new(),
        entries: builder.entries.into_values().collect(),
    };
    if let Some(curated) = &inputs.curated {
        let text = read_text(curated)?;
        let source = known_sources()
            .into_iter()
            .find(|s| s.key == CURATED)
            .ok_or_else(|| ImportError::Inconsistent("curated source missing".to_string()))?;
        overrides::apply_text(&mut data, &text, curated, &source)?;
    }
    for entry in &mut data.entries {
        finish_entry(entry, &builder.displays);
    }
    let used: BTreeSet<&str> = data
        .entries
        .iter()
        .flat_map(|e| e.sources.iter().map(String::as_str))
        .collect();
    data.sources = known_sources()
        .into_iter()
        .filter(|s| used.contains(s.key.as_str()))
        .collect();
    let mut seen = BTreeSet::new();
    for entry in &data.entries {
        if !is_valid_id(&entry.id) || !seen.insert(entry.id.clone()) {
            return Err(ImportError::Inconsistent(format!(
                "entry id `{}` is invalid or repeated",
                entry.id
            )));
        }
    }
    data.normalize();
    Ok(data)
}

/// The newest Sysmon manifest under `resources/schemas/sysmon/`.
fn read_schema(ossem: &Path) -> Result<Vec<ossem::SchemaEvent>, ImportError> {
    let folder = ossem.join("resources/schemas/sysmon");
    let schema = ossem::sorted_dir(&folder)?
        .into_iter()
        .rfind(|p| p.extension().is_some_and(|e| e == "xml"))
        .ok_or_else(|| ImportError::Missing {
            path: folder.clone(),
            message: "no Sysmon manifest schema (*.xml)".to_string(),
        })?;
    ossem::read_sysmon_schema(&schema)
}

/// Titles and fallback names, once every name is known.
fn finish_entry(entry: &mut Entry, displays: &HashMap<String, String>) {
    if !entry.title.is_empty() {
        return;
    }
    match entry.event_id {
        Some(id) => {
            let display = displays
                .get(&entry.id)
                .cloned()
                .or_else(|| entry.channel().map(str::to_string))
                .unwrap_or_default();
            if entry.name.is_empty() {
                entry.name = format!("Event {id}");
                entry.title = format!("{display} {id}");
            } else {
                entry.title = format!("{display} {id}: {}", entry.name);
            }
        }
        None => entry.title = entry.name.clone(),
    }
}

/// Lower-case slug: runs of other characters become one `-`; a token repeating the one
/// before it is dropped (`gcp` + `gcp.audit` → `gcp-audit`).
fn slug(parts: &[&str]) -> String {
    let mut tokens: Vec<String> = Vec::new();
    for part in parts {
        for token in part
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
        {
            if tokens.last().map(String::as_str) != Some(token) {
                tokens.push(token.to_string());
            }
        }
    }
    tokens.join("-")
}

fn humanize(text: &str) -> String {
    text.replace(['_', '.'], " ")
}

struct Builder<'t> {
    taxonomy: &'t Taxonomy,
    entries: BTreeMap<String, Entry>,
    /// Event entry id → short log name for its title.
    displays: HashMap<String, String>,
    /// Lower-case channel → Sigma Windows service.
    service_of_channel: HashMap<String, String>,
}

impl<'t> Builder<'t> {
    fn new(taxonomy: &'t Taxonomy) -> Self {
        let mut service_of_channel = HashMap::new();
        for row in &taxonomy.rows {
            if row.logsource.product.as_deref() == Some("windows")
                && row.logsource.category.is_none()
                && let Some(service) = &row.logsource.service
            {
                for channel in &row.channels {
                    service_of_channel
                        .entry(channel.to_ascii_lowercase())
                        .or_insert_with(|| service.clone());
                }
            }
        }
        Builder {
            taxonomy,
            entries: BTreeMap::new(),
            displays: HashMap::new(),
            service_of_channel,
        }
    }

    fn service_channel(&self, service: &str) -> Result<String, ImportError> {
        self.taxonomy
            .service_channels(service)
            .into_iter()
            .next()
            .ok_or_else(|| {
                ImportError::Inconsistent(format!(
                    "the taxonomy gives no channel for Windows service `{service}`"
                ))
            })
    }

    /// The id prefix and title name of a Windows channel's log.
    fn windows_log(&self, channel: &str) -> (String, String) {
        match self.service_of_channel.get(&channel.to_ascii_lowercase()) {
            Some(service) => {
                let display = LOG_DISPLAY
                    .iter()
                    .find(|(s, _)| s == service)
                    .map_or_else(|| channel.to_string(), |(_, d)| d.to_string());
                (service.clone(), display)
            }
            None => (slug(&[channel]), channel.to_string()),
        }
    }

    fn find_windows_event(&self, channels: &[String], event_id: u32) -> Option<String> {
        self.entries
            .values()
            .find(|e| {
                e.event_id == Some(event_id)
                    && e.platform.as_deref() == Some("windows")
                    && e.channels
                        .iter()
                        .any(|c| channels.iter().any(|x| x.eq_ignore_ascii_case(c)))
            })
            .map(|e| e.id.clone())
    }

    fn free_id(&self, base: String, provider: Option<&str>) -> String {
        if !self.entries.contains_key(&base) {
            return base;
        }
        let with_provider = format!("{base}-{}", slug(&[provider.unwrap_or("other")]));
        let mut id = with_provider.clone();
        let mut n = 2;
        while self.entries.contains_key(&id) {
            id = format!("{with_provider}-{n}");
            n += 1;
        }
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn add_event(
        &mut self,
        log: (String, String),
        platform: &str,
        channel: Option<String>,
        event_id: u32,
        name: Option<String>,
        provider: Option<String>,
        fields: Vec<String>,
        source: &str,
    ) -> String {
        let (prefix, display) = log;
        let id = self.free_id(format!("{prefix}-{event_id}"), provider.as_deref());
        self.displays.insert(id.clone(), display);
        self.entries.insert(
            id.clone(),
            Entry {
                id: id.clone(),
                title: String::new(),
                name: name.unwrap_or_default(),
                event_id: Some(event_id),
                platform: Some(platform.to_string()),
                channels: channel.into_iter().collect(),
                provider,
                logsources: Vec::new(),
                fields,
                sources: vec![source.to_string()],
            },
        );
        id
    }

    fn add_windows_sysmon(
        &mut self,
        events: &[OssemEvent],
        schema: &[ossem::SchemaEvent],
    ) -> Result<(), ImportError> {
        let channel = self.service_channel("sysmon")?;
        let yaml: BTreeMap<u32, &OssemEvent> = events
            .iter()
            .filter(|e| e.log == OssemLog::WindowsSysmon)
            .map(|e| (e.event_id, e))
            .collect();
        let schema: BTreeMap<u32, &ossem::SchemaEvent> =
            schema.iter().map(|e| (e.event_id, e)).collect();
        let ids: BTreeSet<u32> = yaml.keys().chain(schema.keys()).copied().collect();
        for id in ids {
            let from_yaml = yaml.get(&id);
            let from_schema = schema.get(&id);
            let name = from_yaml
                .and_then(|e| e.name.clone())
                .or_else(|| from_schema.map(|s| s.template.clone()));
            let fields = match (from_schema, from_yaml) {
                (Some(s), _) if !s.fields.is_empty() => s.fields.clone(),
                (_, Some(y)) => y.fields.clone(),
                _ => Vec::new(),
            };
            let log = self.windows_log(&channel);
            self.add_event(
                log,
                "windows",
                Some(channel.clone()),
                id,
                name,
                Some("Microsoft-Windows-Sysmon".to_string()),
                fields,
                OSSEM,
            );
        }
        Ok(())
    }

    fn add_ossem_windows(
        &mut self,
        events: &[OssemEvent],
        atc_items: &[AtcItem],
    ) -> Result<(), ImportError> {
        for event in events {
            let provider = match &event.log {
                OssemLog::EtwProvider(p) => p.clone(),
                OssemLog::WindowsPowerShellClassic => event.log_source.clone(),
                OssemLog::WindowsSysmon | OssemLog::LinuxSysmon => continue,
            };
            let from_atc = atc_items
                .iter()
                .find(|i| {
                    i.event_id == Some(event.event_id)
                        && i.provider
                            .as_deref()
                            .is_some_and(|p| p.eq_ignore_ascii_case(&provider))
                })
                .and_then(|i| i.channel.clone());
            let by_service = match PROVIDER_SERVICES
                .iter()
                .find(|(p, _)| p.eq_ignore_ascii_case(&provider))
            {
                Some((_, service)) => Some(self.service_channel(service)?),
                None => None,
            };
            let Some(channel) = event.sample_channel.clone().or(from_atc).or(by_service) else {
                continue;
            };
            let log = self.windows_log(&channel);
            self.add_event(
                log,
                "windows",
                Some(channel),
                event.event_id,
                event.name.clone(),
                Some(provider),
                event.fields.clone(),
                OSSEM,
            );
        }
        Ok(())
    }

    fn add_linux_sysmon(&mut self, events: &[OssemEvent]) {
        for event in events.iter().filter(|e| e.log == OssemLog::LinuxSysmon) {
            self.add_event(
                ("linux-sysmon".to_string(), "Sysmon for Linux".to_string()),
                "linux",
                None,
                event.event_id,
                event.name.clone(),
                None,
                event.fields.clone(),
                OSSEM,
            );
        }
    }

    fn add_atc_windows_events(&mut self, items: &[AtcItem]) {
        for item in items {
            let (Some(event_id), Some(channel)) = (item.event_id, &item.channel) else {
                continue;
            };
            if !item.platform.eq_ignore_ascii_case("windows")
                || self
                    .find_windows_event(std::slice::from_ref(channel), event_id)
                    .is_some()
            {
                continue;
            }
            let log = self.windows_log(channel);
            self.add_event(
                log,
                "windows",
                Some(channel.clone()),
                event_id,
                None,
                item.provider.clone(),
                item.fields.clone(),
                ATC,
            );
        }
    }

    /// Windows categories → their events (creating events the dictionaries lack, such as the
    /// classic PowerShell 800), and Linux categories → Sysmon for Linux events.
    fn add_taxonomy_categories(&mut self) {
        let taxonomy = self.taxonomy;
        for row in &taxonomy.rows {
            if row.event_ids.is_empty() || row.logsource.category.is_none() {
                continue;
            }
            match row.logsource.product.as_deref() {
                Some("windows") => {
                    for &event_id in &row.event_ids {
                        let id = match self.find_windows_event(&row.channels, event_id) {
                            Some(id) => id,
                            None => {
                                let Some(channel) = row.channels.first().cloned() else {
                                    continue;
                                };
                                let log = self.windows_log(&channel);
                                self.add_event(
                                    log,
                                    "windows",
                                    Some(channel),
                                    event_id,
                                    None,
                                    None,
                                    Vec::new(),
                                    TAXONOMY,
                                )
                            }
                        };
                        self.attach(&id, &row.logsource, &row.channels, TAXONOMY);
                    }
                }
                Some("linux") if row.service_hint.as_deref() == Some("sysmon") => {
                    for &event_id in &row.event_ids {
                        let id = format!("linux-sysmon-{event_id}");
                        self.attach(&id, &row.logsource, &[], TAXONOMY);
                    }
                }
                _ => {}
            }
        }
    }

    /// A Linux category of `logsource.json` the taxonomy does not map is the Sysmon for Linux
    /// event of the same Windows category (`process_termination` → 5).
    fn add_linux_analogies(&mut self, field_lists: &[(LogSourceKey, Vec<String>)]) {
        let taxonomy = self.taxonomy;
        for (key, _) in field_lists {
            let (Some("linux"), Some(category)) = (key.product.as_deref(), &key.category) else {
                continue;
            };
            if self.has_key(key) {
                continue;
            }
            let windows_row = taxonomy.rows.iter().find(|r| {
                r.logsource.product.as_deref() == Some("windows")
                    && r.logsource.category.as_ref() == Some(category)
                    && !r.event_ids.is_empty()
                    && r.channels.iter().any(|c| {
                        self.service_of_channel
                            .get(&c.to_ascii_lowercase())
                            .map(String::as_str)
                            == Some("sysmon")
                    })
            });
            let Some(row) = windows_row else { continue };
            for &event_id in &row.event_ids {
                let id = format!("linux-sysmon-{event_id}");
                self.attach(&id, key, &[], LOGSOURCE_JSON);
            }
        }
    }

    fn attach(&mut self, id: &str, key: &LogSourceKey, channels: &[String], source: &str) {
        let Some(entry) = self.entries.get_mut(id) else {
            return;
        };
        if !entry.logsources.contains(key) {
            entry.logsources.push(key.clone());
        }
        for channel in channels {
            if !entry
                .channels
                .iter()
                .any(|c| c.eq_ignore_ascii_case(channel))
            {
                entry.channels.push(channel.clone());
            }
        }
        if !entry.sources.iter().any(|s| s == source) {
            entry.sources.push(source.to_string());
        }
    }

    fn has_key(&self, key: &LogSourceKey) -> bool {
        self.entries.values().any(|e| e.logsources.contains(key))
    }

    /// Log-level entries: every taxonomy log source without event IDs, then every further log
    /// source of `logsource.json`.
    fn add_log_entries(&mut self, field_lists: &[(LogSourceKey, Vec<String>)]) {
        let taxonomy = self.taxonomy;
        for row in &taxonomy.rows {
            if row.event_ids.is_empty() && !self.has_key(&row.logsource) {
                self.add_log(
                    &row.logsource,
                    row.channels.clone(),
                    row.etw_provider.clone(),
                    TAXONOMY,
                );
            }
        }
        for (key, _) in field_lists {
            if !self.has_key(key) {
                self.add_log(key, Vec::new(), None, LOGSOURCE_JSON);
            }
        }
    }

    fn add_log(
        &mut self,
        key: &LogSourceKey,
        channels: Vec<String>,
        provider: Option<String>,
        source: &str,
    ) {
        let parts: Vec<&str> = [&key.product, &key.category, &key.service]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mut id = slug(&parts);
        if self.entries.contains_key(&id) {
            id.push_str("-log");
        }
        if id.is_empty() || self.entries.contains_key(&id) {
            return;
        }
        let name = log_name(key, &channels);
        self.entries.insert(
            id.clone(),
            Entry {
                id,
                title: String::new(),
                name,
                event_id: None,
                platform: key.product.clone(),
                channels,
                provider,
                logsources: vec![key.clone()],
                fields: Vec::new(),
                sources: vec![source.to_string()],
            },
        );
    }

    /// Field names of log-level entries (and of events no dictionary describes): from
    /// `logsource.json`, else the taxonomy's field lists, else atc-data.
    fn fill_log_fields(
        &mut self,
        field_lists: &[(LogSourceKey, Vec<String>)],
        atc_items: &[AtcItem],
    ) {
        let taxonomy = self.taxonomy;
        for entry in self.entries.values_mut() {
            if !entry.fields.is_empty() {
                continue;
            }
            let listed = field_lists
                .iter()
                .find(|(k, f)| !f.is_empty() && entry.logsources.contains(k));
            if let Some((_, fields)) = listed {
                entry.fields = fields.clone();
                push_source(entry, LOGSOURCE_JSON);
                continue;
            }
            if entry.event_id.is_some() {
                continue;
            }
            let block = taxonomy.field_blocks.iter().find(|b| {
                entry
                    .logsources
                    .iter()
                    .any(|k| *k == b.logsource || same_single_value(k, &b.logsource))
            });
            if let Some(block) = block {
                entry.fields = block.fields.clone();
                push_source(entry, TAXONOMY);
                continue;
            }
            let atc_log = ATC_LOGS.iter().find(|(_, product, category, service)| {
                let key = LogSourceKey {
                    product: product.map(str::to_string),
                    category: category.map(str::to_string),
                    service: service.map(str::to_string),
                };
                entry.logsources.contains(&key)
            });
            let item = atc_log.and_then(|(title, ..)| atc_items.iter().find(|i| i.title == *title));
            if let Some(item) = item {
                entry.fields = item.fields.clone();
                if entry.channels.is_empty() {
                    entry.channels.extend(item.channel.clone());
                }
                if entry.provider.is_none() {
                    entry.provider = item.provider.clone();
                }
                push_source(entry, ATC);
            }
        }
    }
}

fn push_source(entry: &mut Entry, source: &str) {
    if !entry.sources.iter().any(|s| s == source) {
        entry.sources.push(source.to_string());
    }
}

/// Whether two keys each set one attribute, to the same value: the taxonomy lists antivirus
/// fields under `product: antivirus` for the log source `category: antivirus`.
fn same_single_value(a: &LogSourceKey, b: &LogSourceKey) -> bool {
    let single = |k: &LogSourceKey| {
        let values: Vec<&String> = [&k.product, &k.category, &k.service]
            .into_iter()
            .flatten()
            .collect();
        match values.as_slice() {
            [v] => Some((*v).clone()),
            _ => None,
        }
    };
    single(a).is_some_and(|v| single(b) == Some(v))
}

/// A readable name for a log-level entry.
fn log_name(key: &LogSourceKey, channels: &[String]) -> String {
    let product = key.product.as_deref();
    if product == Some("windows")
        && let Some(channel) = channels.first()
    {
        return if channel.contains('/') {
            channel.clone()
        } else {
            format!("Windows {channel} log")
        };
    }
    let rest: Vec<String> = [&key.category, &key.service]
        .into_iter()
        .flatten()
        .map(|s| humanize(s))
        .collect();
    let rest = rest.join(" ");
    match product {
        Some(p) => {
            let display = PRODUCT_DISPLAY
                .iter()
                .find(|(k, _)| *k == p)
                .map_or_else(|| p.to_string(), |(_, d)| d.to_string());
            if rest.is_empty() {
                display
            } else {
                format!("{display} {rest}")
            }
        }
        None => {
            let mut chars = rest.chars();
            match chars.next() {
                Some(first) => format!("{}{} logs", first.to_ascii_uppercase(), chars.as_str()),
                None => rest,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_drop_repeated_tokens() {
        assert_eq!(slug(&["gcp", "gcp.audit"]), "gcp-audit");
        assert_eq!(slug(&["okta", "okta"]), "okta");
        assert_eq!(slug(&["windows", "bits-client"]), "windows-bits-client");
        assert_eq!(
            slug(&["Microsoft-Windows-Sysmon/Operational"]),
            "microsoft-windows-sysmon-operational"
        );
    }

    #[test]
    fn log_names() {
        let key = |p: Option<&str>, c: Option<&str>, s: Option<&str>| LogSourceKey {
            product: p.map(str::to_string),
            category: c.map(str::to_string),
            service: s.map(str::to_string),
        };
        assert_eq!(
            log_name(
                &key(Some("windows"), None, Some("security")),
                &["Security".into()]
            ),
            "Windows Security log"
        );
        assert_eq!(
            log_name(&key(Some("aws"), None, Some("cloudtrail")), &[]),
            "AWS cloudtrail"
        );
        assert_eq!(log_name(&key(None, Some("proxy"), None), &[]), "Proxy logs");
    }
}
