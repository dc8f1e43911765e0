"""Classifications the statistics are told in, as data with labels in bokmål and English.

ISCED-F 2013 (UNESCO's fields of education and training: broad 2 digits, narrow 3, detailed 4), the
NUS (SSB's Norsk standard for utdanningsgruppering: the first digit is the level, the second the field),
Norway's counties (fylker, SSB's codes since the reform of 1 January 2024), gender and the age groups
the statistics count in. Sectors, grade scales and NKR/EQF levels are in ``register.sectors`` and
``register.grading``; ``register.stats.labels`` joins them into one look-up per dimension.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Label:
    nb: str
    en: str

    def get(self, lang: str) -> str:
        return self.nb if lang == "nb" else self.en


def _table(rows: str) -> dict[str, Label]:
    """``code | bokmål | English`` per line."""
    table = {}
    for line in rows.strip().splitlines():
        code, nb, en = (part.strip() for part in line.split("|"))
        table[code] = Label(nb, en)
    return table


# ISCED-F 2013, broad and narrow fields, and the detailed fields (UNESCO Institute for Statistics,
# "ISCED Fields of Education and Training 2013"; bokmål after SSB's translation of the same list).
ISCEDF = _table(
    """
00 | Generelle programmer og kvalifikasjoner | Generic programmes and qualifications
001 | Grunnleggende programmer og kvalifikasjoner | Basic programmes and qualifications
0011 | Grunnleggende programmer og kvalifikasjoner | Basic programmes and qualifications
002 | Lese- og regneferdigheter | Literacy and numeracy
0021 | Lese- og regneferdigheter | Literacy and numeracy
003 | Personlige ferdigheter og utvikling | Personal skills and development
0031 | Personlige ferdigheter og utvikling | Personal skills and development
01 | Pedagogikk og lærerutdanning | Education
011 | Pedagogikk og lærerutdanning | Education
0111 | Pedagogikk | Education science
0112 | Barnehagelærerutdanning | Training for pre-school teachers
0113 | Lærerutdanning uten fagspesialisering | Teacher training without subject specialisation
0114 | Lærerutdanning med fagspesialisering | Teacher training with subject specialisation
02 | Humanistiske og estetiske fag | Arts and humanities
021 | Kunstfag | Arts
0211 | Audiovisuelle teknikker og medieproduksjon | Audio-visual techniques and media production
0212 | Mote-, interiør- og industridesign | Fashion, interior and industrial design
0213 | Billedkunst | Fine arts
0214 | Kunsthåndverk | Handicrafts
0215 | Musikk og scenekunst | Music and performing arts
022 | Humanistiske fag (unntatt språk) | Humanities (except languages)
0221 | Religion og teologi | Religion and theology
0222 | Historie og arkeologi | History and archaeology
0223 | Filosofi og etikk | Philosophy and ethics
023 | Språk | Languages
0231 | Språkopplæring | Language acquisition
0232 | Litteratur og lingvistikk | Literature and linguistics
03 | Samfunnsfag, journalistikk og informasjon | Social sciences, journalism and information
031 | Samfunns- og atferdsfag | Social and behavioural sciences
0311 | Samfunnsøkonomi | Economics
0312 | Statsvitenskap | Political sciences and civics
0313 | Psykologi | Psychology
0314 | Sosiologi og kulturstudier | Sociology and cultural studies
032 | Journalistikk og informasjon | Journalism and information
0321 | Journalistikk | Journalism and reporting
0322 | Bibliotek-, informasjons- og arkivfag | Library, information and archival studies
04 | Økonomi, administrasjon og jus | Business, administration and law
041 | Økonomi og administrasjon | Business and administration
0411 | Regnskap og skatt | Accounting and taxation
0412 | Finans, bank og forsikring | Finance, banking and insurance
0413 | Ledelse og administrasjon | Management and administration
0414 | Markedsføring og reklame | Marketing and advertising
0415 | Sekretær- og kontorarbeid | Secretarial and office work
0416 | Salg | Wholesale and retail sales
0417 | Arbeidslivsferdigheter | Work skills
042 | Jus | Law
0421 | Jus | Law
05 | Naturvitenskap, matematikk og statistikk | Natural sciences, mathematics and statistics
051 | Biologi og beslektede fag | Biological and related sciences
0511 | Biologi | Biology
0512 | Biokjemi | Biochemistry
052 | Miljø | Environment
0521 | Miljøvitenskap | Environmental sciences
0522 | Naturmiljø og dyreliv | Natural environments and wildlife
053 | Fysiske fag | Physical sciences
0531 | Kjemi | Chemistry
0532 | Geofag | Earth sciences
0533 | Fysikk | Physics
054 | Matematikk og statistikk | Mathematics and statistics
0541 | Matematikk | Mathematics
0542 | Statistikk | Statistics
06 | Informasjons- og kommunikasjonsteknologi | Information and Communication Technologies
061 | Informasjons- og kommunikasjonsteknologi | Information and Communication Technologies
0611 | Databruk | Computer use
0612 | Database- og nettverksdesign og -drift | Database and network design and administration
0613 | Programvare- og applikasjonsutvikling og -analyse | Software and applications development and analysis
07 | Ingeniørfag, industri og bygg | Engineering, manufacturing and construction
071 | Ingeniørfag og tekniske fag | Engineering and engineering trades
0711 | Kjemisk prosessteknologi | Chemical engineering and processes
0712 | Miljøteknologi | Environmental protection technology
0713 | Elektrisitet og energi | Electricity and energy
0714 | Elektronikk og automatisering | Electronics and automation
0715 | Mekanikk og metallfag | Mechanics and metal trades
0716 | Motorkjøretøy, skip og fly | Motor vehicles, ships and aircraft
072 | Industri og produksjon | Manufacturing and processing
0721 | Næringsmiddelproduksjon | Food processing
0722 | Materialer (glass, papir, plast og tre) | Materials (glass, paper, plastic and wood)
0723 | Tekstiler (klær, fottøy og lær) | Textiles (clothes, footwear and leather)
0724 | Gruvedrift og utvinning | Mining and extraction
073 | Arkitektur og bygg | Architecture and construction
0731 | Arkitektur og byplanlegging | Architecture and town planning
0732 | Bygg og anlegg | Building and civil engineering
08 | Landbruk, skogbruk, fiske og veterinærfag | Agriculture, forestry, fisheries and veterinary
081 | Landbruk | Agriculture
0811 | Plante- og husdyrproduksjon | Crop and livestock production
0812 | Hagebruk | Horticulture
082 | Skogbruk | Forestry
0821 | Skogbruk | Forestry
083 | Fiske | Fisheries
0831 | Fiske | Fisheries
084 | Veterinærfag | Veterinary
0841 | Veterinærfag | Veterinary
09 | Helse og velferd | Health and welfare
091 | Helse | Health
0911 | Odontologi | Dental studies
0912 | Medisin | Medicine
0913 | Sykepleie og jordmorfag | Nursing and midwifery
0914 | Medisinsk diagnostikk og behandlingsteknologi | Medical diagnostic and treatment technology
0915 | Terapi og rehabilitering | Therapy and rehabilitation
0916 | Farmasi | Pharmacy
0917 | Tradisjonell og alternativ medisin og terapi | Traditional and complementary medicine and therapy
092 | Velferd | Welfare
0921 | Omsorg for eldre og voksne med funksjonsnedsettelse | Care of the elderly and of disabled adults
0922 | Barne- og ungdomsarbeid | Child care and youth services
0923 | Sosialt arbeid og veiledning | Social work and counselling
10 | Tjenesteytende fag | Services
101 | Personlige tjenester | Personal services
1011 | Husholdningstjenester | Domestic services
1012 | Frisør- og skjønnhetstjenester | Hair and beauty services
1013 | Hotell, restaurant og servering | Hotel, restaurants and catering
1014 | Idrett | Sports
1015 | Reiseliv, turisme og fritid | Travel, tourism and leisure
102 | Hygiene og helse, miljø og sikkerhet i arbeidslivet | Hygiene and occupational health services
1021 | Renovasjon og sanitær | Community sanitation
1022 | Helse, miljø og sikkerhet i arbeidslivet | Occupational health and safety
103 | Sikkerhetstjenester | Security services
1031 | Forsvar | Military and defence
1032 | Vern av personer og eiendom | Protection of persons and property
104 | Transporttjenester | Transport services
1041 | Transporttjenester | Transport services
99 | Ukjent fagfelt | Field unknown
9999 | Ukjent fagfelt | Field unknown
"""
)

# NUS 2000: a six-digit code whose first digit is the level and second the broad field (SSB).
NUS_LEVELS = _table(
    """
0 | Ingen utdanning og førskoleutdanning | No education and pre-primary education
1 | Barneskoleutdanning | Primary education
2 | Ungdomsskoleutdanning | Lower secondary education
3 | Videregående, grunnutdanning | Upper secondary, basic
4 | Videregående, avsluttende utdanning | Upper secondary, final year
5 | Påbygging til videregående utdanning | Post-secondary non-tertiary education
6 | Universitets- og høgskoleutdanning, lavere nivå | First stage of higher education, undergraduate level
7 | Universitets- og høgskoleutdanning, høyere nivå | First stage of higher education, graduate level
8 | Forskerutdanning | Second stage of higher education (postgraduate)
9 | Uoppgitt nivå | Level unspecified
"""
)
NUS_FIELDS = _table(
    """
0 | Allmenne fag | General programmes
1 | Humanistiske og estetiske fag | Humanities and arts
2 | Lærerutdanninger og utdanninger i pedagogikk | Teacher training and pedagogy
3 | Samfunnsfag og juridiske fag | Social sciences and law
4 | Økonomiske og administrative fag | Business and administration
5 | Naturvitenskapelige fag, håndverksfag og tekniske fag | Natural sciences, vocational and technical subjects
6 | Helse-, sosial- og idrettsfag | Health, welfare and sport
7 | Primærnæringsfag | Primary industries
8 | Samferdsels- og sikkerhetsfag og andre servicefag | Transport and communications, safety and security
9 | Uoppgitt fagfelt | Field unspecified
"""
)


def nus_label(code: str) -> Label | None:
    """A NUS code told by its level and field (the six-digit groups' own titles are SSB's, not ours)."""
    if len(code) < 2 or code[0] not in NUS_LEVELS or code[1] not in NUS_FIELDS:
        return None
    level, field = NUS_LEVELS[code[0]], NUS_FIELDS[code[1]]
    return Label(f"{level.nb}: {field.nb.lower()}", f"{level.en}: {field.en.lower()}")


# Counties (fylker) from 1 January 2024, SSB's codes (Klass 104).
COUNTIES = _table(
    """
03 | Oslo | Oslo
11 | Rogaland | Rogaland
15 | Møre og Romsdal | Møre og Romsdal
18 | Nordland | Nordland
31 | Østfold | Østfold
32 | Akershus | Akershus
33 | Buskerud | Buskerud
34 | Innlandet | Innlandet
39 | Vestfold | Vestfold
40 | Telemark | Telemark
42 | Agder | Agder
46 | Vestland | Vestland
50 | Trøndelag | Trøndelag
55 | Troms | Troms
56 | Finnmark | Finnmark
"""
)

# Gender as a delivered record states it (ISO/IEC 5218's 1 and 2; "not known" is no value).
GENDERS = _table(
    """
female | Kvinne | Female
male | Mann | Male
"""
)

#: age at completion (completion year − birth year): the lower bound of each group, and its code
AGE_GROUPS: tuple[tuple[int, str], ...] = (
    (0, "0-19"),
    (20, "20-24"),
    (25, "25-29"),
    (30, "30-39"),
    (40, "40-49"),
    (50, "50+"),
)
AGE_GROUP_LABELS = {
    "0-19": Label("under 20 år", "under 20"),
    "20-24": Label("20–24 år", "20–24"),
    "25-29": Label("25–29 år", "25–29"),
    "30-39": Label("30–39 år", "30–39"),
    "40-49": Label("40–49 år", "40–49"),
    "50+": Label("50 år og over", "50 and over"),
}
assert set(AGE_GROUP_LABELS) == {code for _, code in AGE_GROUPS}


def age_group_sql(age: str) -> str:
    """SQL mapping an age in years (an integer expression) to its group's code; NULL stays NULL."""
    branches = " ".join(f"WHEN {age} >= {low} THEN '{code}'" for low, code in reversed(AGE_GROUPS))
    return f"CASE {branches} END"
