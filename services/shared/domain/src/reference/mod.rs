//! Reference data shipped with the project: INSEE regions and departments,
//! DigComp 2.2 competences, e-CF levels, and a small ROME → skills map.

mod digcomp;
mod regions;
mod rome;

pub use digcomp::{SKILLS, Skill};
pub use regions::{DEPARTMENTS, REGIONS, Region};
pub use rome::ROME_SKILLS;

use thiserror::Error;

/// Levels of a framework, inclusive.
pub const DIGCOMP_LEVELS: std::ops::RangeInclusive<u32> = 1..=8;
pub const ECF_LEVELS: std::ops::RangeInclusive<u32> = 1..=5;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReferenceError {
    #[error("unknown region code {}", crate::text::quoted(.0))]
    UnknownRegion(String),
    #[error("unknown region {} (give an INSEE code such as 84, or a name such as Bretagne)", crate::text::quoted(.0))]
    UnknownRegionName(String),
    #[error("unknown department code {}", crate::text::quoted(.0))]
    UnknownDepartment(String),
    #[error("malformed commune code {} (expected 5 characters, e.g. 69123 or 2A004)", crate::text::quoted(.0))]
    MalformedCommune(String),
    #[error("unknown skill code {} (expected a DigComp 2.2 competence such as 3.4)", crate::text::quoted(.0))]
    UnknownSkill(String),
    #[error("unknown ROME occupation code {}", crate::text::quoted(.0))]
    UnknownRomeCode(String),
}

pub fn region(code: &str) -> Result<&'static Region, ReferenceError> {
    REGIONS.iter().find(|region| region.code == code).ok_or_else(|| ReferenceError::UnknownRegion(code.to_string()))
}

/// A region by its INSEE code, or by its name with accents, case, hyphens
/// and apostrophes optional ("auvergne rhone alpes", "Provence-Alpes-Côte d'Azur").
pub fn region_by_code_or_name(text: &str) -> Result<&'static Region, ReferenceError> {
    let text = text.trim();
    if let Ok(region) = region(text) {
        return Ok(region);
    }
    let wanted = fold_name(text);
    REGIONS
        .iter()
        .find(|region| fold_name(region.name) == wanted)
        .ok_or_else(|| ReferenceError::UnknownRegionName(text.to_string()))
}

/// A name in lower case without accents, its words separated by one space.
fn fold_name(name: &str) -> String {
    let folded: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ÿ' => 'y',
            '-' | '\'' | '’' => ' ',
            other => other,
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn skill(code: &str) -> Result<&'static Skill, ReferenceError> {
    SKILLS.iter().find(|skill| skill.code == code).ok_or_else(|| ReferenceError::UnknownSkill(code.to_string()))
}

/// The region of a department code ("69", "2A", "974").
pub fn region_of_department(department: &str) -> Result<&'static Region, ReferenceError> {
    let (_, region_code) = DEPARTMENTS
        .iter()
        .find(|(code, _)| *code == department)
        .ok_or_else(|| ReferenceError::UnknownDepartment(department.to_string()))?;
    region(region_code)
}

/// The region of an INSEE commune code: its department is the first two
/// characters, or three for the overseas departments (97x).
pub fn region_of_commune(commune: &str) -> Result<&'static Region, ReferenceError> {
    let well_formed = commune.len() == 5 && commune.chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Err(ReferenceError::MalformedCommune(commune.to_string()));
    }
    let department = if commune.starts_with("97") { &commune[..3] } else { &commune[..2] };
    region_of_department(department).map_err(|_| ReferenceError::MalformedCommune(commune.to_string()))
}

/// The skills an occupation maps to.
pub fn skills_of_rome(rome_code: &str) -> Result<&'static [&'static str], ReferenceError> {
    ROME_SKILLS
        .iter()
        .find(|(code, _, _)| *code == rome_code)
        .map(|(_, _, skills)| *skills)
        .ok_or_else(|| ReferenceError::UnknownRomeCode(rome_code.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_18_regions_and_21_skills_in_5_areas() {
        assert_eq!(REGIONS.len(), 18);
        assert_eq!(SKILLS.len(), 21);
        let mut areas: Vec<_> = SKILLS.iter().map(|s| s.area).collect();
        areas.dedup();
        assert_eq!(areas.len(), 5);
    }

    #[test]
    fn every_department_maps_to_a_known_region_and_every_region_has_one() {
        assert_eq!(DEPARTMENTS.len(), 101);
        for (department, region_code) in DEPARTMENTS {
            assert!(region(region_code).is_ok(), "department {department} -> {region_code}");
        }
        for region in REGIONS {
            assert!(DEPARTMENTS.iter().any(|(_, r)| *r == region.code), "region {} has no department", region.code);
        }
    }

    #[test]
    fn places_resolve_to_regions() {
        assert_eq!(region_of_department("69").unwrap().code, "84");
        assert_eq!(region_of_department("2A").unwrap().code, "94");
        assert_eq!(region_of_commune("75056").unwrap().code, "11");
        assert_eq!(region_of_commune("97411").unwrap().code, "04");
        assert_eq!(region_of_commune("2B033").unwrap().code, "94");
    }

    #[test]
    fn unknown_codes_are_errors_naming_the_code() {
        assert_eq!(region("99").unwrap_err().to_string(), "unknown region code \"99\"");
        assert!(skill("9.9").unwrap_err().to_string().contains("\"9.9\""));
        assert!(region_of_department("20").is_err());
        assert!(matches!(region_of_commune("123"), Err(ReferenceError::MalformedCommune(_))));
        assert!(region_of_commune("96001").is_err());
        assert!(skills_of_rome("Z9999").unwrap_err().to_string().contains("Z9999"));
    }

    #[test]
    fn every_rome_code_maps_to_known_skills() {
        for (code, _, skills) in ROME_SKILLS {
            assert!(!skills.is_empty(), "{code}");
            for skill_code in skills.iter() {
                assert!(skill(skill_code).is_ok(), "{code} -> {skill_code}");
            }
        }
    }

    #[test]
    fn a_region_is_found_by_code_or_by_name() {
        assert_eq!(region_by_code_or_name("84").unwrap().code, "84");
        assert_eq!(region_by_code_or_name("Auvergne-Rhône-Alpes").unwrap().code, "84");
        assert_eq!(region_by_code_or_name(" auvergne rhone alpes ").unwrap().code, "84");
        assert_eq!(region_by_code_or_name("ILE DE FRANCE").unwrap().code, "11");
        assert_eq!(region_by_code_or_name("Provence Alpes Cote d Azur").unwrap().code, "93");
        for region in REGIONS.iter() {
            assert_eq!(region_by_code_or_name(region.name).unwrap(), region, "every name finds its region");
        }
        let error = region_by_code_or_name("Atlantis").unwrap_err().to_string();
        assert!(error.contains("\"Atlantis\"") && error.contains("84"), "{error}");
    }
}
