//! DigComp 2.2: 21 competences in 5 areas, with the level (1..8) this
//! project counts as "certified at target" for the labour market.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skill {
    pub code: &'static str,
    pub name: &'static str,
    pub area: &'static str,
    pub target_level: u32,
}

const INFO: &str = "Information and data literacy";
const COMM: &str = "Communication and collaboration";
const CREATE: &str = "Digital content creation";
const SAFETY: &str = "Safety";
const PROBLEM: &str = "Problem solving";

const fn s(code: &'static str, name: &'static str, area: &'static str, target_level: u32) -> Skill {
    Skill { code, name, area, target_level }
}

pub const SKILLS: [Skill; 21] = [
    s("1.1", "Browsing, searching and filtering data, information and digital content", INFO, 4),
    s("1.2", "Evaluating data, information and digital content", INFO, 4),
    s("1.3", "Managing data, information and digital content", INFO, 5),
    s("2.1", "Interacting through digital technologies", COMM, 4),
    s("2.2", "Sharing through digital technologies", COMM, 4),
    s("2.3", "Engaging in citizenship through digital technologies", COMM, 4),
    s("2.4", "Collaborating through digital technologies", COMM, 4),
    s("2.5", "Netiquette", COMM, 4),
    s("2.6", "Managing digital identity", COMM, 4),
    s("3.1", "Developing digital content", CREATE, 4),
    s("3.2", "Integrating and re-elaborating digital content", CREATE, 4),
    s("3.3", "Copyright and licences", CREATE, 4),
    s("3.4", "Programming", CREATE, 5),
    s("4.1", "Protecting devices", SAFETY, 5),
    s("4.2", "Protecting personal data and privacy", SAFETY, 5),
    s("4.3", "Protecting health and well-being", SAFETY, 4),
    s("4.4", "Protecting the environment", SAFETY, 4),
    s("5.1", "Solving technical problems", PROBLEM, 5),
    s("5.2", "Identifying needs and technological responses", PROBLEM, 4),
    s("5.3", "Creatively using digital technologies", PROBLEM, 4),
    s("5.4", "Identifying digital competence gaps", PROBLEM, 4),
];
