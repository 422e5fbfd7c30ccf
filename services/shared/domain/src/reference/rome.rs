//! A small map from ROME occupation codes (France Travail) to the DigComp
//! competences their job offers ask for. Openings posted for an occupation
//! count as demand for each of its skills.

/// (ROME code, occupation, skills).
pub const ROME_SKILLS: [(&str, &str, &[&str]); 12] = [
    ("M1805", "Études et développement informatique", &["3.4", "5.1", "1.3"]),
    ("M1810", "Production et exploitation de systèmes d'information", &["5.1", "4.1"]),
    ("M1802", "Expertise et support en systèmes d'information", &["4.1", "4.2", "5.1"]),
    ("M1801", "Administration de systèmes d'information", &["4.1", "5.1"]),
    ("M1806", "Conseil et maîtrise d'ouvrage en systèmes d'information", &["5.2", "1.3"]),
    ("M1803", "Direction des systèmes d'information", &["5.2", "4.2"]),
    ("M1804", "Études et développement de réseaux de télécoms", &["5.1", "4.1"]),
    ("M1403", "Études et prospectives socio-économiques", &["1.1", "1.2", "1.3"]),
    ("I1401", "Maintenance informatique et bureautique", &["5.1", "4.1"]),
    ("E1104", "Conception de contenus multimédias", &["3.1", "3.2", "3.3"]),
    ("E1101", "Animation de site multimédia", &["2.2", "3.1", "2.5"]),
    ("K2111", "Formation professionnelle", &["2.4", "5.4"]),
];
