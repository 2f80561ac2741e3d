//! The indexes of a site: which rules are under each tactic, technique, log source, level,
//! status, tag, author and Data Needed entry, and the page path of each index page. Computed
//! once per build from the rule entries, in one pass; the index pages, the rule pages' links,
//! the coverage matrix and the exports all read them.

use std::collections::{BTreeMap, HashMap};

use super::enrichment::{self, DataNeeded, TechniqueRef, Trigger};
use super::model::{LogSourceKey, PagePath, RuleEntry, Shared, Slugs, lock};

/// Which rules are under each tactic, technique, log source… and the page of each.
#[derive(Debug, Default)]
pub struct Indexes {
    /// Tactic id → (tactic, rules).
    pub tactics: BTreeMap<String, (enrichment::Tactic, Vec<usize>)>,
    /// Effective technique id → (technique, rules, triggers).
    pub techniques: BTreeMap<String, (TechniqueRef, Vec<usize>, Vec<Trigger>)>,
    /// Log source → rules.
    pub logsources: BTreeMap<LogSourceKey, Vec<usize>>,
    /// Level → rules.
    pub levels: BTreeMap<&'static str, Vec<usize>>,
    /// Status → rules.
    pub statuses: BTreeMap<&'static str, Vec<usize>>,
    /// Tag (lowercase) → rules.
    pub tags: BTreeMap<String, Vec<usize>>,
    /// Author → rules.
    pub authors: BTreeMap<String, Vec<usize>>,
    /// Data Needed id → (entry, rules).
    pub data_needed: BTreeMap<String, (DataNeeded, Vec<usize>)>,
    /// Page paths of the index pages, by kind and key.
    pub pages: PageMap,
}

/// Page paths of index pages.
#[derive(Debug, Default)]
pub struct PageMap {
    /// Tactic id → page.
    pub tactics: HashMap<String, PagePath>,
    /// Technique id → page.
    pub techniques: HashMap<String, PagePath>,
    /// Log source → page.
    pub logsources: HashMap<LogSourceKey, PagePath>,
    /// Tag (lowercase) → page.
    pub tags: HashMap<String, PagePath>,
    /// Author → page.
    pub authors: HashMap<String, PagePath>,
    /// Data Needed id → page.
    pub data_needed: HashMap<String, PagePath>,
}

impl Indexes {
    /// Puts back what compact entries left in `shared` (see [`super::model::compact`]): the
    /// tests of each trigger and the fields of each Data Needed entry the index pages show.
    pub fn restore(&mut self, shared: &Shared) {
        let tests = lock(&shared.tests);
        for (_, _, triggers) in self.techniques.values_mut() {
            for trigger in triggers {
                if let Some(list) = tests.get(&(trigger.technique.clone(), trigger.url.clone())) {
                    trigger.tests.clone_from(list);
                }
            }
        }
        let fields = lock(&shared.fields);
        for (entry, _) in self.data_needed.values_mut() {
            if let Some(list) = fields.get(&entry.id) {
                entry.fields.clone_from(list);
            }
        }
    }

    /// Groups the entries.
    pub fn new(entries: &[RuleEntry]) -> Indexes {
        let mut ix = Indexes::default();
        for (i, e) in entries.iter().enumerate() {
            // A retired rule (deprecated, unsupported) keeps its other index entries but does
            // not count towards the ATT&CK coverage: SigmaHQ no longer runs it.
            let coverage: &[_] = if e.retired.is_none() {
                &e.enrichment.tactics
            } else {
                &[]
            };
            for t in coverage {
                ix.tactics
                    .entry(t.id.clone())
                    .or_insert_with(|| (enrichment::Tactic::clone(t), Vec::new()))
                    .1
                    .push(i);
            }
            let techniques: &[_] = if e.retired.is_none() {
                &e.enrichment.techniques
            } else {
                &[]
            };
            for t in techniques {
                let effective = t.effective();
                ix.techniques
                    .entry(effective.id.clone())
                    .or_insert_with(|| (effective.clone(), Vec::new(), Vec::new()))
                    .1
                    .push(i);
            }
            for trig in &e.enrichment.triggers {
                if let Some(slot) = ix.techniques.get_mut(&trig.technique) {
                    if !slot.2.iter().any(|t| t.url == trig.url) {
                        slot.2.push(trig.clone());
                    }
                }
            }
            for ls in &e.logsources {
                ix.logsources.entry(ls.clone()).or_default().push(i);
            }
            if let Some(l) = e.level {
                ix.levels.entry(l).or_default().push(i);
            }
            if let Some(s) = e.status {
                ix.statuses.entry(s).or_default().push(i);
            }
            for tag in &e.tags {
                ix.tags.entry(tag.to_ascii_lowercase()).or_default().push(i);
            }
            for a in &e.authors {
                ix.authors.entry(a.clone()).or_default().push(i);
            }
            for d in &e.enrichment.data_needed {
                ix.data_needed
                    .entry(d.id.clone())
                    .or_insert_with(|| (DataNeeded::clone(d), Vec::new()))
                    .1
                    .push(i);
            }
        }
        for list in ix.logsources.values_mut() {
            list.dedup();
        }
        for list in ix.tags.values_mut() {
            list.dedup();
        }
        for list in ix.authors.values_mut() {
            list.dedup();
        }
        for (_, list, triggers) in ix.techniques.values_mut() {
            list.dedup();
            triggers.sort_by(|a, b| a.technique.cmp(&b.technique));
        }
        let reserved = ["index"];
        let mut slugs = Slugs::new(&reserved);
        for id in ix.tactics.keys() {
            ix.pages
                .tactics
                .insert(id.clone(), format!("tactics/{}", slugs.assign(id)));
        }
        let mut slugs = Slugs::new(&reserved);
        for id in ix.techniques.keys() {
            ix.pages
                .techniques
                .insert(id.clone(), format!("techniques/{}", slugs.assign(id)));
        }
        let mut slugs = Slugs::new(&reserved);
        for key in ix.logsources.keys() {
            ix.pages.logsources.insert(
                key.clone(),
                format!("logsources/{}", slugs.assign(&key.slug_source())),
            );
        }
        let mut slugs = Slugs::new(&reserved);
        for tag in ix.tags.keys() {
            ix.pages
                .tags
                .insert(tag.clone(), format!("tags/{}", slugs.assign(tag)));
        }
        let mut slugs = Slugs::new(&reserved);
        for author in ix.authors.keys() {
            ix.pages
                .authors
                .insert(author.clone(), format!("authors/{}", slugs.assign(author)));
        }
        let mut slugs = Slugs::new(&reserved);
        for id in ix.data_needed.keys() {
            ix.pages
                .data_needed
                .insert(id.clone(), format!("data-needed/{}", slugs.assign(id)));
        }
        ix
    }
}
