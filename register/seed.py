"""The demo register: Meridian Assist, a fictional global medical and travel assistance group.

`load_demo()` fills an empty register through the audited services only (audit source "seed"), so
every demo record has its creation in the trail like a record a person entered. Everything here is
fictional. Some records are wrong on purpose, so the register's checks have something to find; each
one is marked "deliberate" with what is wrong.

Dates are fixed, except where a state must stay true whenever the demo is loaded ("expires within 90
days", "review overdue", "valid certificate"): those are `Relative` to the day of loading.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Optional, Union

import click
from sqlalchemy import func, select

from . import services
from .audit import Actor
from .auth import generate_password
from .extensions import db
from .models import (
    AuditSource,
    BcrApproval,
    Certificate,
    ChangeNotice,
    Client,
    DpfCertification,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    Party,
    Role,
    ScopeFact,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    User,
)
from .users import create_user


@dataclass(frozen=True)
class Relative:
    """A date `days` from the day the demo is loaded (negative: in the past)."""

    days: int


Day = Union[str, Relative, None]

# --- keys this seed borrows from data/countries.yaml (fix them here if the file renames them) ----

SCOPE_FACT_KEYS = {
    "pipeda": "ca_pipeda",  # EU/UK decisions on Canada: recipient subject to PIPEDA
    "ca_private": "ca_private_sector_law",  # Swiss Annex 1 on Canada: PIPEDA or a provincial private-sector act
    "appi": "jp_appi_private_sector",  # Japan: private business operator under the APPI
    "pipa": "kr_pipa_covered",  # Korea: controller subject to PIPA
    "kr_excluded": "kr_excluded_sector",  # Korea: yes = a sector the decision excludes (FSC credit data...)
    "il_automated": "il_automated_processing",  # Israel: automated processing
    "lgpd": "br_lgpd_covered",  # Brazil: covered by the LGPD
}
EPO = "EPO"  # the European Patent Organisation's id under international_organisations

# Where a first-hop route's data comes under a regime (transfer-law.md section 1). Only the
# countries of this demo are needed; the register's rules own the full lists.
EEA = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split())


def home_regime(country: Optional[str]) -> Optional[str]:
    if country in EEA:
        return "EU"
    return {"GB": "UK", "CH": "CH"}.get(country or "")


# --- the group --------------------------------------------------------------------------------

# key: legal name, country, since, serves clients as processor; registration number, address
GROUP_ENTITIES = {
    "fr": ("Meridian Assist SA", "FR", "2001-03-01", True,
           "RCS Paris 512 345 678", "18 rue de la Pépinière, 75008 Paris"),
    "fr-med": ("Meridian Assist Medical Services SAS", "FR", "2008-06-01", False,
               "RCS Lyon 803 114 527", "42 quai Rambaud, 69002 Lyon"),
    "de": ("Meridian Assist Deutschland GmbH", "DE", "2004-01-15", True,
           "HRB 204518 (AG München)", "Leopoldstraße 118, 80802 München"),
    "es": ("Meridian Assist España S.L.", "ES", "2006-09-01", True,
           "B-86123457", "Calle de Alcalá 265, 28027 Madrid"),
    "it": ("Meridian Assist Italia S.r.l.", "IT", "2007-02-01", True,
           "REA MI-1987654", "Via Tortona 27, 20144 Milano"),
    "nl": ("Meridian Assist Nederland B.V.", "NL", "2009-05-01", False,
           "KvK 34219876", "Piet Heinkade 55, 1019 GM Amsterdam"),
    "ie": ("Meridian Assist Ireland DAC", "IE", "2017-10-01", False,
           "CRO 612345", "2 Grand Canal Square, Dublin 2, D02 A342"),
    "be": ("Meridian Assist Belgium SRL", "BE", "2010-01-01", False,
           "BCE 0712.345.678", "Avenue Louise 250, 1050 Bruxelles"),
    "pl": ("Meridian Assist Polska sp. z o.o.", "PL", "2015-07-01", False,
           "KRS 0000567123", "ul. Prosta 68, 00-838 Warszawa"),
    "se": ("Meridian Assist Nordic AB", "SE", "2012-03-01", False,
           "556912-3456", "Sveavägen 44, 111 34 Stockholm"),
    "pt": ("Meridian Assist Portugal, Lda.", "PT", "2016-04-01", False,
           "NIPC 514321987", "Avenida da Liberdade 190, 1250-147 Lisboa"),
    "at": ("Meridian Assist Österreich GmbH", "AT", "2011-01-01", False,
           "FN 412345 t", "Wiedner Hauptstraße 90, 1050 Wien"),
    "gr": ("Meridian Assist Hellas Single Member P.C.", "GR", "2018-06-01", False,
           "GEMI 145678901000", "Leoforos Kifisias 44, 151 25 Marousi"),
    "cz": ("Meridian Assist Česko s.r.o.", "CZ", "2017-02-01", False,
           "IČO 06123456", "Na Florenci 2116/15, 110 00 Praha 1"),
    "no": ("Meridian Assist Norge AS", "NO", "2018-09-01", False,
           "Org.nr. 921 345 678", "Dronning Eufemias gate 16, 0191 Oslo"),
    "hu": ("Meridian Assist Hungary Kft.", "HU", "2012-04-01", False,
           "Cg. 01-09-298765", "Váci út 47, 1134 Budapest"),
    "gb": ("Meridian Assist UK Limited", "GB", "2002-05-01", True,
           "Company No. 04512378", "30 Finsbury Square, London EC2A 1AG"),
    "gb-med": ("Meridian Medical Review Limited", "GB", "2015-11-01", False,
               "Company No. 09876123", "1 Spinningfields, Manchester M3 3JE"),
    "ch": ("Meridian Assist (Suisse) SA", "CH", "2005-01-01", True,
           "CHE-112.345.678", "Rue du Rhône 80, 1204 Genève"),
    "us": ("Meridian Assist USA, Inc.", "US", "2003-08-01", True,
           "Delaware file no. 4123456", "1200 Smith Street, Houston, TX 77002"),
    "us-mar": ("Meridian Maritime Assistance LLC", "US", "2019-03-01", True,
               "Florida doc. L19000123456", "80 SW 8th Street, Miami, FL 33130"),
    "ca": ("Meridian Assist Canada Inc.", "CA", "2010-06-01", True,
           "NEQ 1171234567", "1250 boul. René-Lévesque Ouest, Montréal QC H3B 4W8"),
    "mx": ("Meridian Asistencia México, S.A. de C.V.", "MX", "2006-12-01", False,
           "RFC MAM0612159K3", "Paseo de la Reforma 296, 06600 Ciudad de México"),
    "br": ("Meridian Assistência Brasil Ltda.", "BR", "2011-09-01", False,
           "CNPJ 12.345.678/0001-90", "Avenida Paulista 1842, São Paulo SP 01310-200"),
    "ar": ("Meridian Asistencia Argentina S.A.", "AR", "2013-03-01", False,
           "CUIT 30-71234567-8", "Avenida Corrientes 800, C1043 Buenos Aires"),
    "uy": ("Meridian Asistencia Uruguay S.A.", "UY", "2016-08-01", False,
           "RUT 217654320019", "Plaza Independencia 811, 11100 Montevideo"),
    "jp": ("Meridian Assist Japan K.K.", "JP", "2009-04-01", False,
           "Corporate No. 0104-01-123456", "2-7-3 Marunouchi, Chiyoda-ku, Tokyo 100-0005"),
    "kr": ("Meridian Assist Korea Co., Ltd.", "KR", "2014-05-01", False,
           "110111-7654321", "26 Eulji-ro 5-gil, Jung-gu, Seoul 04539"),
    "cn": ("Meridian Assist (Shanghai) Co., Ltd.", "CN", "2012-10-01", False,
           "USCC 91310000MA1FL12345", "1000 Lujiazui Ring Road, Pudong, Shanghai 200120"),
    "in": ("Meridian Assist India Private Limited", "IN", "2011-06-01", False,
           "CIN U74999PN2011PTC123456", "Hinjawadi Phase 2, Pune 411057"),
    "sg": ("Meridian Assist Asia Pte. Ltd.", "SG", "2010-02-01", False,
           "UEN 201012345K", "1 Raffles Place, #20-01, Singapore 048616"),
    "th": ("Meridian Assist (Thailand) Co., Ltd.", "TH", "2016-01-01", False,
           "0105561234567", "Sukhumvit Road 63, Bangkok 10110"),
    "au": ("Meridian Assist Australia Pty Ltd", "AU", "2024-02-01", False,
           "ACN 612 345 678", "200 George Street, Sydney NSW 2000"),
    "nz": ("Meridian Assist New Zealand Limited", "NZ", "2019-07-01", False,
           "NZBN 9429041234567", "21 Queen Street, Auckland 1010"),
    "za": ("Meridian Assist South Africa (Pty) Ltd", "ZA", "2009-11-01", False,
           "2009/012345/07", "1 Sandton Drive, Sandton 2196"),
    "ae": ("Meridian Assist Middle East FZ-LLC", "AE", "2023-05-01", False,
           "DHCC licence 1234", "Dubai Healthcare City, Building 64, Dubai"),
    "tr": ("Meridian Assist Türkiye Asistans A.Ş.", "TR", "2015-03-01", False,
           "MERSIS 0612345678900015", "Büyükdere Caddesi 185, 34394 Şişli, İstanbul"),
    "eg": ("Meridian Assist Egypt LLC", "EG", "2018-01-01", False,
           "CR 123456 Cairo", "26 July Street, Zamalek, Cairo"),
    "ke": ("Meridian Assist East Africa Limited", "KE", "2020-02-01", False,
           "PVT-ABC1234", "Riverside Drive, Nairobi"),
    "il": ("Meridian Assist Israel Ltd", "IL", "2014-09-01", False,
           "51-612345-6", "Rothschild Boulevard 45, Tel Aviv-Yafo"),
}
HQ = "fr"
# Parties that ended: the Hungarian entity merged into the Austrian one; Transcall was replaced by
# Swift. They stay in the register with their history; their engagements and routes end with them.
ENDED = {"hu": "2024-06-30", "transcall": "2024-12-31"}
DPOS = {
    "fr": ("Claire Dubois", "dpo@meridian.example"),
    "fr-med": ("Claire Dubois", "dpo@meridian.example"),
    "de": ("Dr. Jonas Weber", "datenschutz.de@meridian.example"),
    "es": ("Lucía Martín", "dpd.es@meridian.example"),
    "it": ("Marco Bianchi", "dpo.it@meridian.example"),
    "gb": ("Hannah Clarke", "dpo.uk@meridian.example"),
    "ch": ("Sophie Favre", "datenschutz.ch@meridian.example"),
    "br": ("Rafael Souza", "encarregado.br@meridian.example"),
}

# Binding corporate rules: members and the day they were bound (and unbound).
EU_BCR_MEMBERS = {
    "fr": ("2021-09-15", None), "fr-med": ("2021-09-15", None), "de": ("2021-09-15", None),
    "es": ("2021-09-15", None), "it": ("2021-09-15", None), "nl": ("2021-09-15", None),
    "ie": ("2021-09-15", None), "pl": ("2021-09-15", None),
    "hu": ("2021-09-15", "2024-06-30"),  # left the group with the merger
    "gb": ("2021-09-15", None), "ch": ("2021-09-15", None), "us": ("2021-09-15", None),
    "in": ("2021-09-15", None), "sg": ("2021-09-15", None), "za": ("2021-09-15", None),
    "mx": ("2022-05-01", None), "br": ("2022-05-01", None),
}
UK_BCR_MEMBERS = {key: ("2023-03-10", None) for key in ("gb", "gb-med", "fr", "us", "in", "sg")}
# Non-BCR entities that signed the intra-group SCC agreement instead.
INTRA_GROUP_SCC_IMPORTERS = ("th", "tr", "eg", "ke", "cn", "us-mar")
# Adequate for EU data in this demo's terms (the rules decide; this only spares an instrument).
EU_ADEQUATE = frozenset({"GB", "CH", "JP", "KR", "CA", "IL", "NZ", "UY", "AR"})

# --- third parties ----------------------------------------------------------------------------

# key: legal name, country, city, what they do for the group, vetting status
THIRD_PARTIES = {
    # IT, cloud and communications
    "nimbus": ("Nimbus Cloud Services, Inc.", "US", "Seattle, WA", "Cloud hosting (IaaS/PaaS)", "approved"),
    "azurine": ("Azurine Cloud SAS", "FR", "Roubaix", "Sovereign EU cloud: backup and archive", "approved"),
    "relata": ("Relata Software, Inc.", "US", "San Francisco, CA",
               "Customer relationship management (CRM)", "approved"),
    "callwave": ("Callwave Communications, Inc.", "US", "Denver, CO",
                 "Cloud telephony and call recording", "conditional"),
    "postwire": ("Postwire, Inc.", "US", "Austin, TX", "Transactional email and SMS", "approved"),
    "keyvault": ("Keyvault Identity, Inc.", "US", "Boston, MA", "Single sign-on and identity", "approved"),
    "sentinel": ("Sentinel Cyber Defence Private Limited", "IN", "Bengaluru",
                 "Security operations centre (log monitoring)", "approved"),
    "textbridge": ("Textbridge Messaging Ltd", "GB", "Leeds", "SMS notifications to travellers", "approved"),
    "coldstore": ("Coldstore Backup SA", "CH", "Lausanne", "Offsite backup for the Swiss entity", "approved"),
    "archivum": ("Archivum Records Management NV", "BE", "Antwerpen", "Paper file scanning and archiving", "approved"),
    "medibot": ("Medibot Triage AI, Inc.", "US", "Palo Alto, CA",
                "AI symptom triage for the assistance app", "pending"),
    "quickscan": ("QuickScan Document Services Limited", "HK", "Kowloon",
                  "Offshore document keying (tendered)", "rejected"),
    # Contact centres
    "voxa": ("Voxa Contact Centres S.L.", "ES", "Valencia", "Overflow contact centre", "approved"),
    "ubuntu": ("Ubuntu Contact Solutions (Pty) Ltd", "ZA", "Cape Town",
               "Night-shift overflow contact centre", "conditional"),
    # HR and payroll
    "peoplestack": ("Peoplestack, Inc.", "US", "Chicago, IL", "HR information system", "approved"),
    "kaveri": ("Kaveri Payroll Services Private Limited", "IN", "Chennai",
               "Payroll processing outside the US", "approved"),
    "lohnwerk": ("Lohnwerk Payroll GmbH", "DE", "Nürnberg", "German payroll", "approved"),
    "skillpath": ("Skillpath Learning, Inc.", "US", "Salt Lake City, UT", "Staff training platform", "approved"),
    # Privacy, language, payments, travel
    "rightsdesk": ("Rightsdesk Ltd", "GB", "Bristol", "Privacy request portal", "approved"),
    "lingua": ("Lingua Medica S.r.l.", "IT", "Bologna", "Medical translation", "approved"),
    "polyglot": ("Polyglot AI, Inc.", "US", "New York, NY", "Machine translation engine", "approved"),
    "swift": ("Swift Interpreters Pty Ltd", "AU", "Melbourne", "Telephone interpreting", "approved"),
    "transcall": ("Transcall Interpreting, Inc.", "US", "Phoenix, AZ", "Telephone interpreting (replaced)", "approved"),
    "paynetic": ("Paynetic Payments B.V.", "NL", "Utrecht", "Payment of medical bills abroad", "approved"),
    "clearline": ("Clearline Payments, Inc.", "US", "Atlanta, GA", "Card payments for cost advances", "approved"),
    "claimsure": ("ClaimSure Cost Containment LLC", "US", "Tampa, FL", "Medical bill review", "approved"),
    "skylink": ("Skylink Distribution, Inc.", "US", "Dallas, TX", "Travel booking (GDS)", "approved"),
    "tripwise": ("Tripwise Booking Ltd", "GB", "Crawley", "Repatriation travel agency", "approved"),
    # Repatriation and air ambulance
    "skycare": ("SkyCare Air Ambulance GmbH", "DE", "Köln", "Air ambulance", "approved"),
    "alpine": ("Alpine Medevac AG", "CH", "Zürich", "Air ambulance (joint medevac coordination)", "approved"),
    "falcon": ("Falcon Medevac LLC", "AE", "Dubai", "Air ambulance in the Gulf", "conditional"),
    "rapido": ("Rápido Traslados Médicos, S.A. de C.V.", "MX", "Cancún", "Ground ambulance", "approved"),
    # Insurers and card issuers acting as independent controllers
    "alpenruck": ("Alpenrück Reinsurance AG", "CH", "Zürich", "Reinsurer of the assistance portfolio", "approved"),
    "thames": ("Thames Mutual Insurance plc", "GB", "London", "Travel insurer (claims)", "approved"),
    "liberty": ("Liberty Harbor Insurance Company", "US", "Hartford, CT",
                "Travel medical insurer (claims)", "approved"),
    "hangang": ("Hangang Card Co., Ltd.", "KR", "Seoul", "Card issuer (cardholder assistance claims)", "approved"),
    "docnow": ("Docnow Telehealth, Inc.", "US", "Nashville, TN", "Teleconsultations for travellers", "approved"),
    # Medical provider networks (independent controllers: they treat the patient)
    "atlas": ("Atlas Medical Network, Inc.", "US", "Orlando, FL", "Medical provider network", "approved"),
    "sanjeevani": ("Sanjeevani Hospital Network Private Limited", "IN", "Mumbai",
                   "Medical provider network", "approved"),
    "siam": ("Siam International Hospital Network Co., Ltd.", "TH", "Bangkok", "Medical provider network", "approved"),
    "pacifico": ("Red Médica del Pacífico, S.A. de C.V.", "MX", "Puerto Vallarta",
                 "Medical provider network", "approved"),
    "gulfcare": ("Gulf Care Medical Network LLC", "AE", "Abu Dhabi", "Medical provider network", "approved"),
    "capemed": ("Cape Medical Network (Pty) Ltd", "ZA", "Cape Town", "Medical provider network", "approved"),
    "saude": ("Rede Saúde Viajante Ltda.", "BR", "Rio de Janeiro", "Medical provider network", "approved"),
    "sakura": ("Sakura Medical Network Co., Ltd.", "JP", "Osaka", "Medical provider network", "approved"),
    "hanbit": ("Hanbit Medical Partners Co., Ltd.", "KR", "Busan", "Medical provider network", "approved"),
    "maple": ("Maple Health Network Inc.", "CA", "Toronto, ON", "Medical provider network", "approved"),
    "northern": ("Northern Lights Clinic Cooperative", "CA", "Whitehorse, YT", "Remote-area clinics", "approved"),
    "carmel": ("Carmel Medical Network Ltd", "IL", "Haifa", "Medical provider network", "approved"),
    "lemanique": ("Clinique Lémanique SA", "CH", "Montreux", "Private clinic", "approved"),
    "southern": ("Southern Cross Medical Assistance Pty Ltd", "AU", "Brisbane", "Medical provider network", "approved"),
    "lioncity": ("Lion City Medical Network Pte. Ltd.", "SG", "Singapore", "Medical provider network", "approved"),
    "huaxia": ("Huaxia International Clinics Co., Ltd.", "CN", "Beijing", "International clinics", "conditional"),
    "kiwi": ("Kiwi Medical Network Limited", "NZ", "Queenstown", "Medical provider network", "approved"),
    "rioplatense": ("Red Médica Rioplatense S.A.", "UY", "Punta del Este", "Medical provider network", "approved"),
    "delsur": ("Clínicas del Sur S.A.", "AR", "Bariloche", "Medical provider network", "approved"),
    "anadolu": ("Anadolu Sağlık Ağı A.Ş.", "TR", "Antalya", "Medical provider network", "approved"),
    "savannah": ("Savannah Health Network Limited", "KE", "Mombasa", "Medical provider network", "approved"),
    "nile": ("Nile Valley International Hospital S.A.E.", "EG", "Luxor", "Hospital", "approved"),
    "costabrava": ("Clínica Costa Brava S.L.", "ES", "Girona", "Private clinic", "approved"),
}
# Facts only some third parties have.
THIRD_PARTY_DETAILS = {
    # Art. 3(2): offers teleconsultations to people in the EU, so subject to the GDPR itself; the 2021
    # SCCs were not designed for such an importer (EDPB Guidelines 05/2021): flag for review.
    "docnow": {"is_subject_to_gdpr_art3_2": True},
    "ubuntu": {"vetting_next_review_on": Relative(-40),  # deliberate: review overdue
               "vetting_notes": "Conditional: annual on-site review overdue; no ISO 27001 certificate."},
    "callwave": {"vetting_notes": "Conditional: the DPF List names Callwave Holdings LLC, not the contracting entity."},
    "quickscan": {"vetting_notes": "Rejected 2025-04: no security programme; offshore subcontractors unnamed.",
                  "is_in_subject_list": False},
    "medibot": {"vetting_notes": "Security review in progress before the planned launch."},
    "falcon": {"vetting_notes": "Conditional: used only case by case under an Art. 49 derogation."},
    "huaxia": {"vetting_notes": "Conditional: contract still on the 2010 SCCs; replacement requested."},
    # Not in the list given to data subjects: independent controllers and internal tooling, and one
    # processor that should be (deliberate: Sentinel processes logs with traveller identifiers).
    "alpenruck": {"is_in_subject_list": False},
    "hangang": {"is_in_subject_list": False},
    "sentinel": {"is_in_subject_list": False},
    "keyvault": {"is_in_subject_list": False},
}

# third party: edition, certificate number, certification body, issued, expires, last verified
CERTIFICATES = [
    ("nimbus", "2022", "IS 771204", "BSI Group", Relative(-400), Relative(695), Relative(-30)),
    ("azurine", "2022", "FR-ISMS-20417", "AFNOR Certification", Relative(-200), Relative(895), Relative(-60)),
    ("relata", "2022", "ISMS-US-88120", "Schellman & Company", Relative(-500), Relative(595), Relative(-45)),
    ("postwire", "2022", "ISMS-US-90211", "A-LIGN", Relative(-300), Relative(795), Relative(-90)),
    ("keyvault", "2022", "ISMS-US-70442", "Coalfire ISO", Relative(-150), Relative(945), Relative(-20)),
    ("sentinel", "2022", "IN-27001-5521", "TÜV SÜD South Asia", Relative(-250), Relative(845), Relative(-100)),
    ("rightsdesk", "2022", "IS 802115", "BSI Group", Relative(-100), Relative(995), Relative(-15)),
    ("lingua", "2022", "IT-ISMS-3318", "DNV Business Assurance Italy", Relative(-600), Relative(495), Relative(-120)),
    ("paynetic", "2022", "NL-ISMS-1192", "DEKRA Certification", Relative(-350), Relative(745), Relative(-70)),
    ("lohnwerk", "2022", "DE-ISMS-44817", "TÜV Rheinland", Relative(-420), Relative(675), Relative(-80)),
    ("coldstore", "2022", "CH-ISMS-0873", "SQS", Relative(-180), Relative(915), Relative(-40)),
    # Expires within 90 days: renewal to chase.
    ("peoplestack", "2022", "ISMS-US-61877", "Schellman & Company", Relative(-1050), Relative(45), Relative(-60)),
    # Deliberate: last verified well over a year ago.
    ("kaveri", "2022", "IN-27001-4410", "Bureau Veritas India", Relative(-700), Relative(395), Relative(-430)),
    # Deliberate: expired and not renewed.
    ("callwave", "2022", "ISMS-US-55012", "A-LIGN", "2022-09-01", "2025-08-31", "2024-10-15"),
    # Deliberate: a 2013-edition certificate; every one expired or was withdrawn after 2025-10-31.
    ("voxa", "2013", "ES-SGSI-0967", "AENOR", "2023-02-01", "2026-01-31", "2025-05-20"),
]

# third party: framework, covers HR, covers non-HR, entity named on the DPF List (None: itself), verified on
DPF_CERTIFICATIONS = [
    ("nimbus", "eu_us", True, True, None, Relative(-20)),
    ("nimbus", "uk_extension", True, True, None, Relative(-20)),
    ("nimbus", "swiss_us", True, True, None, Relative(-20)),
    ("relata", "eu_us", False, True, None, Relative(-35)),
    ("relata", "uk_extension", False, True, None, Relative(-35)),
    ("relata", "swiss_us", False, True, None, Relative(-35)),
    ("peoplestack", "eu_us", True, True, None, Relative(-50)),
    ("peoplestack", "uk_extension", True, True, None, Relative(-50)),
    ("peoplestack", "swiss_us", True, True, None, Relative(-50)),
    ("keyvault", "eu_us", True, True, None, Relative(-25)),
    ("postwire", "eu_us", False, True, None, Relative(-40)),
    ("postwire", "uk_extension", False, True, None, Relative(-40)),
    ("skylink", "eu_us", False, True, None, Relative(-60)),
    ("clearline", "eu_us", False, True, None, Relative(-75)),
    ("claimsure", "eu_us", False, True, None, Relative(-90)),
    ("polyglot", "eu_us", False, True, None, Relative(-30)),
    ("medibot", "eu_us", False, True, None, Relative(-10)),
    # Deliberate: non-HR only, while the staff training routes to Skillpath carry HR data.
    ("skillpath", "eu_us", False, True, None, Relative(-45)),
    # Deliberate: the DPF List names the parent, not the contracting entity.
    ("callwave", "eu_us", False, True, "Callwave Holdings LLC", Relative(-55)),
]
INACTIVE_DPF = [("transcall", "eu_us", False, True, None, "2024-11-02")]  # lapsed before the contract ended

# party, scope question (alias in SCOPE_FACT_KEYS), answer, verified on, note
SCOPE_FACTS = [
    ("maple", "pipeda", "yes", "2025-09-10", "Private clinic group billing insurers: commercial activity."),
    ("maple", "ca_private", "yes", "2025-09-10", None),
    ("northern", "pipeda", "unknown", None, "A non-profit cooperative: asked whether its work with us is commercial."),
    ("ca", "pipeda", "yes", "2024-06-01", "Our own Canadian entity, a federally incorporated business."),
    ("ca", "ca_private", "yes", "2024-06-01", None),
    ("sakura", "appi", "yes", "2025-03-14", None),
    ("jp", "appi", "yes", "2024-06-01", None),
    ("hanbit", "pipa", "yes", "2025-02-20", None),
    ("hanbit", "kr_excluded", "no", "2025-02-20", None),
    ("kr", "pipa", "yes", "2024-06-01", None),
    ("kr", "kr_excluded", "no", "2024-06-01", None),
    # The card issuer's claims data is credit information processed by an FSC-supervised firm: outside
    # the Korean decision, so an Art. 46 tool is needed (none is in place: deliberate gap).
    ("hangang", "pipa", "yes", "2025-05-02", None),
    ("hangang", "kr_excluded", "yes", "2025-05-02", "FSC-supervised card issuer; claims data is credit information."),
    ("carmel", "il_automated", "yes", "2025-01-08", None),
    ("il", "il_automated", "yes", "2024-06-01", None),
    ("saude", "lgpd", "yes", "2026-02-10", None),
    ("br", "lgpd", "yes", "2026-02-01", None),
]

# --- clients and international organisations --------------------------------------------------

# key: legal name, country, city, notice period (days) for sub-processor changes, served by
CLIENTS = {
    "avm": ("Assurances Voyageurs Mutuelles", "FR", "Niort", 30, "fr"),
    "hanse": ("Hanseatische Reiseversicherung AG", "DE", "Hamburg", 30, "de"),
    "britannic": ("Britannic Engineering plc", "GB", "Birmingham", 60, "gb"),
    "helvetic": ("Helvetic Pharma AG", "CH", "Basel", 30, "ch"),
    # A credit-card assistance programme for US cardholders; European cases are handled by the HQ.
    "continental": ("Continental Card Services, Inc.", "US", "Wilmington, DE", 14, "fr"),
}

# key: legal name, organisation id (data/countries.yaml), address
INTERNATIONAL_ORGANISATIONS = {
    "epo": ("European Patent Organisation", EPO, "Bob-van-Benthem-Platz 1, 80469 München"),
}

# --- engagements ------------------------------------------------------------------------------

PROCESSOR, SUB_PROCESSOR = "processor", "sub_processor"
INDEPENDENT, JOINT = "independent_controller", "joint_controller"

# key: engager, engaged, service, relationship, contract, signed on, authorisation, locations
ENGAGEMENTS = {
    "hosting": ("fr", "nimbus", "Cloud hosting of the case management platform", PROCESSOR,
                "MSA-2023-014", "2023-02-14", "general", ["IE:storage", "DE:storage", "US:access"]),
    "archive": ("fr", "azurine", "Backup and archive", PROCESSOR,
                "AZ-2021-203", "2021-05-03", "general", ["FR", "DE:storage"]),
    # The Philippines: Relata's support staff there can access the CRM, and no route covers it (deliberate).
    "crm": ("fr", "relata", "Group CRM", PROCESSOR,
            "RELATA-DPA-2022", "2022-11-30", "general", ["US:storage", "IE:storage", "PH:access"]),
    "crm-hosting": ("relata", "nimbus", "CRM hosting", SUB_PROCESSOR,
                    "Relata sub-processor list v12", "2022-11-30", "general", ["US", "IE:storage"]),
    "telephony": ("fr", "callwave", "Cloud telephony and call recording", PROCESSOR,
                  "CW-2023-77", "2023-05-15", "general", ["US"]),
    "call-storage": ("callwave", "nimbus", "Call recording storage", SUB_PROCESSOR,
                     "Callwave sub-processor list", "2023-05-15", "general", ["US"]),
    "overflow": ("fr", "voxa", "Overflow contact centre", PROCESSOR,
                 "VOXA-2020-11", "2020-11-02", "specific", ["ES", "PT:access"]),
    "night-shift": ("voxa", "ubuntu", "Night-shift overflow", SUB_PROCESSOR,
                    "VOXA-SUB-2024-3", "2024-09-01", "specific", ["ZA:access"]),
    "hris": ("fr", "peoplestack", "HR information system", PROCESSOR,
             "PS-2023-MSA", "2023-11-20", "general", ["US"]),
    "hris-hosting": ("peoplestack", "nimbus", "HRIS hosting", SUB_PROCESSOR,
                     "Peoplestack sub-processor list", "2023-11-20", "general", ["US"]),
    "payroll-offshore": ("peoplestack", "kaveri", "Payroll processing outside the US", SUB_PROCESSOR,
                         "PS-KAVERI-2024", "2024-03-15", "specific", ["IN"]),
    "payroll-de": ("de", "lohnwerk", "German payroll", PROCESSOR,
                   "LW-2019-05", "2019-05-01", "general", ["DE"]),
    "training": ("fr", "skillpath", "Staff training platform", PROCESSOR,
                 "SKP-2024-02", "2024-02-01", "general", ["US"]),
    "sso": ("fr", "keyvault", "Single sign-on", PROCESSOR,
            "KV-2022-09", "2022-09-01", "general", ["US", "IE:storage"]),
    "soc": ("fr", "sentinel", "Security operations centre", PROCESSOR,
            "SOC-2022-06", "2022-06-15", "specific", ["IN:access"]),
    "email": ("fr", "postwire", "Transactional email", PROCESSOR,
              "PW-2021-12", "2021-12-01", "general", ["US"]),
    "sms": ("gb", "textbridge", "SMS notifications", PROCESSOR,
            "TB-2022-01", "2022-01-10", "general", ["GB"]),
    "backup-ch": ("ch", "coldstore", "Offsite backup", PROCESSOR,
                  "CS-2020-04", "2020-04-01", "general", ["CH"]),
    "scanning": ("fr", "archivum", "Paper file scanning", PROCESSOR,
                 "ARC-2018-07", "2018-07-01", "general", ["BE"]),
    "dsar": ("fr", "rightsdesk", "Privacy request portal", PROCESSOR,
             "RD-2024-01", "2024-01-08", "general", ["GB"]),
    "dsar-hosting": ("rightsdesk", "nimbus", "Portal hosting", SUB_PROCESSOR,
                     "Rightsdesk sub-processor list", "2024-01-08", "general", ["US"]),
    # A chain three deep: the group -> Lingua Medica -> Polyglot AI -> Nimbus.
    "translation": ("fr", "lingua", "Medical translation", PROCESSOR,
                    "LM-2021-03", "2021-03-01", "specific", ["IT"]),
    "machine-translation": ("lingua", "polyglot", "Machine translation", SUB_PROCESSOR,
                            "LM-PG-2023", "2023-06-01", "specific", ["US"]),
    "mt-hosting": ("polyglot", "nimbus", "Translation model hosting", SUB_PROCESSOR,
                   "Polyglot sub-processor list", "2023-06-01", "general", ["US"]),
    "interpreting": ("fr", "swift", "Telephone interpreting", PROCESSOR,
                     "SW-2025-01", "2025-01-06", "general", ["AU"]),
    "interpreting-old": ("fr", "transcall", "Telephone interpreting", PROCESSOR,
                         "TC-2021-08", "2021-08-01", "general", ["US"]),
    "bill-payment": ("fr", "paynetic", "Payment of medical bills", PROCESSOR,
                     "PN-2020-02", "2020-02-01", "general", ["NL"]),
    "card-payments": ("fr", "clearline", "Card payments for cost advances", PROCESSOR,
                      "CL-2022-04", "2022-04-01", "general", ["US"]),
    "bill-review": ("fr", "claimsure", "Medical bill review", PROCESSOR,
                    "CS-2023-03", "2023-03-01", "specific", ["US"]),
    "gds": ("fr", "skylink", "Travel booking (GDS)", PROCESSOR,
            "SKY-2019-10", "2019-10-01", "general", ["US"]),
    "repatriation-travel": ("fr", "tripwise", "Repatriation travel", INDEPENDENT,
                            "TW-2020-06", "2020-06-01", "not_required", ["GB"]),
    "air-ambulance": ("fr", "skycare", "Air ambulance", INDEPENDENT,
                      "SC-2018-01", "2018-01-15", "not_required", ["DE"]),
    "medevac": ("fr", "alpine", "Joint medevac coordination", JOINT,
                "AM-JCA-2022", "2022-02-01", "not_required", ["CH"]),
    "gulf-medevac": ("fr", "falcon", "Air ambulance in the Gulf (case by case)", INDEPENDENT,
                     "FM-2025-01", "2025-01-20", "not_required", ["AE"]),
    "ground-ambulance": ("mx", "rapido", "Ground ambulance", INDEPENDENT,
                         "RT-2021-01", "2021-01-01", "not_required", ["MX"]),
    "reinsurance": ("fr", "alpenruck", "Reinsurance claims reporting", INDEPENDENT,
                    "AR-2017-RE", "2017-01-01", "not_required", ["CH"]),
    "claims-gb": ("gb", "thames", "Claims information sharing", INDEPENDENT,
                  "TM-2019-02", "2019-02-01", "not_required", ["GB"]),
    "claims-us": ("fr", "liberty", "Claims information sharing", INDEPENDENT,
                  "LH-2022-09", "2022-09-01", "not_required", ["US"]),
    "claims-kr": ("fr", "hangang", "Cardholder assistance claims", INDEPENDENT,
                  "HG-2024-05", "2024-05-01", "not_required", ["KR"]),
    "telehealth": ("fr", "docnow", "Teleconsultations", INDEPENDENT,
                   "DN-2022-09", "2022-09-01", "not_required", ["US"]),
    "card-mexico": ("continental", "mx", "Assistance for cardholders in Mexico", PROCESSOR,
                    "CCS-MX-2022", "2022-01-01", "general", ["MX"]),
    # Proposed: security review pending; planned to start after it.
    "triage": ("fr", "medibot", "AI symptom triage", PROCESSOR,
               None, None, "specific", ["US"]),
    # Proposed: a sub-processor for the clients' claim files, so the clients the HQ serves are told
    # first and may object (Art. 28(2)); see NOTICES.
    "claims-scanning": ("fr", "archivum", "Scanning of clients' paper claim files", SUB_PROCESSOR,
                        "ARC-2018-07 amendment 3", None, "general", ["BE"]),
}
PROPOSED_ENGAGEMENTS = {"triage": Relative(60), "claims-scanning": Relative(45)}
# Sub-processor change notices: engagement, client, sent on, objection received on, outcome.
NOTICES = [
    # Told ten days ago with 30 days' notice: it may still object, so the change cannot yet take effect.
    ("claims-scanning", "avm", Relative(-10), None, "pending"),
    # 14 days' notice, told 20 days ago, no objection: clear for its data.
    ("claims-scanning", "continental", Relative(-20), None, "no_objection"),
]
# Medical provider networks: one engagement each, by the HQ (the DE desk holds the Chinese one).
MEDICAL_NETWORK_ENGAGER = {"huaxia": "de"}

# Client organisations engage the group as processor.
CLIENT_SERVICE = "Travel and medical assistance for the client's insured persons"

# --- transfer instruments ---------------------------------------------------------------------

# key: kind, title, signed on; exporters, importers (the signatories); details
INSTRUMENTS = {
    "scc-nimbus": ("eu_scc", "Nimbus Cloud DPA - EU SCC Modules 2 and 3", "2023-02-14",
                   ["fr"], ["nimbus"],
                   {"scc_decision": "2021/914", "scc_modules": "2,3", "document_reference": "LEG-2023-014"}),
    "add-nimbus": ("uk_addendum", "Nimbus Cloud DPA - UK Addendum", "2023-02-14",
                   ["gb"], ["nimbus"],
                   {"uk_addendum_version": "B1.0", "document_reference": "LEG-2023-014-UK"}),
    "scc-relata": ("eu_scc", "Relata CRM DPA - EU SCC Modules 2 and 3", "2022-11-30",
                   ["fr"], ["relata"],
                   {"scc_decision": "2021/914", "scc_modules": "2,3", "document_reference": "LEG-2022-102",
                    "notes": "Fallback should the EU-US DPF fall (appeal C-703/25 P)."}),
    "add-relata": ("uk_addendum", "Relata CRM DPA - UK Addendum", "2022-11-30",
                   ["gb"], ["relata"],
                   {"uk_addendum_version": "B1.0", "document_reference": "LEG-2022-102-UK"}),
    "scc-swiss": ("eu_scc", "Swiss data transfer agreement - EU SCC with Swiss adaptation", "2023-10-02",
                  ["ch"], ["relata", "sg"],
                  {"scc_decision": "2021/914", "scc_modules": "1,2", "has_swiss_adaptation": True,
                   "document_reference": "LEG-2023-CH-01",
                   "notes": "FDPIC as competent authority; Swiss courts available."}),
    "scc-kaveri": ("eu_scc", "Peoplestack / Kaveri - EU SCC Module 3", "2024-03-15",
                   ["peoplestack"], ["kaveri"],
                   {"scc_decision": "2021/914", "scc_modules": "3", "has_swiss_adaptation": True,
                    "document_reference": "PS-KAVERI-2024-SCC"}),
    "scc-medical": ("eu_scc", "Medical provider network agreement - EU SCC Module 1", "2022-09-01",
                    ["fr"], ["atlas", "sanjeevani", "siam", "anadolu", "savannah", "docnow", "liberty"],
                    {"scc_decision": "2021/914", "scc_modules": "1", "document_reference": "MED-NET-2022"}),
    "scc-card": ("eu_scc", "Continental Card programme - EU SCC Module 4", "2023-05-01",
                 ["fr"], ["continental"],
                 {"scc_decision": "2021/914", "scc_modules": "4", "document_reference": "CCS-2023-DPA"}),
    # Deliberate module mismatch: Module 1 (controller to controller) for a processor.
    "scc-soc": ("eu_scc", "Sentinel SOC - EU SCC", "2022-06-15",
                ["fr"], ["sentinel"],
                {"scc_decision": "2021/914", "scc_modules": "1", "document_reference": "SOC-2022-06-SCC"}),
    # Deliberate: pre-2021 SCCs, no longer valid since 2022-12-27, still relied on.
    "scc-2010": ("eu_scc", "Huaxia clinics - SCC 2010 (controller to processor set)", "2019-05-10",
                 ["de"], ["huaxia"],
                 {"scc_decision": "2010/87/EU", "document_reference": "DE-2019-HX"}),
    "iga": ("eu_scc", "Intra-group data transfer agreement - EU SCC Modules 1 and 2", "2022-03-01",
            ["fr", "fr-med", "de", "es", "it", "nl", "ie", "be", "pl", "se", "pt", "at", "gr", "cz", "no"],
            list(INTRA_GROUP_SCC_IMPORTERS),
            {"scc_decision": "2021/914", "scc_modules": "1,2", "document_reference": "IGA-2022"}),
    "idta-sanjeevani": ("uk_idta", "Sanjeevani network - UK IDTA", "2023-01-20",
                        ["gb"], ["sanjeevani"],
                        {"document_reference": "UK-IDTA-2023-01"}),
    "idta-group": ("uk_idta", "UK intra-group IDTA (non-BCR entities)", "2023-06-01",
                   ["gb"], ["za", "mx"],
                   {"document_reference": "UK-IDTA-2023-IG"}),
    "bcr-eu": ("bcr", "Reliance on the Meridian EU BCR-C", "2021-09-15",
               ["fr"], ["us", "in", "sg", "za", "mx", "br", "gb", "ch"],
               {"bcr_approval": "eu", "document_reference": "BCR-IGA-2021"}),
    "bcr-uk": ("bcr", "Reliance on the Meridian UK BCR-C", "2023-03-10",
               ["gb"], ["gb-med", "fr", "us", "in", "sg"],
               {"bcr_approval": "uk", "document_reference": "BCR-UK-2023"}),
    "derogation-b": ("derogation", "Repatriation of case MA-2025-0412 from Dubai - Art. 49(1)(b)", "2025-03-02",
                     ["fr"], ["falcon"],
                     {"derogation_ground": "b", "document_reference": "CASE-MA-2025-0412",
                      "derogation_justification": (
                          "The traveller asked to be flown home under his assistance contract; the only air "
                          "ambulance available in Dubai that day was Falcon Medevac. One transfer of one "
                          "person's case file, necessary to perform the contract; not repeated.")}),
    "derogation-f": ("derogation", "Emergency admission in Luxor - Art. 49(1)(f) vital interests", "2025-08-14",
                     ["fr"], ["nile"],
                     {"derogation_ground": "f", "document_reference": "CASE-MA-2025-0977",
                      "derogation_justification": (
                          "The patient was unconscious after a road accident and could not consent; the hospital "
                          "needed her medical history (allergies, anticoagulants) to operate. Transfer limited to "
                          "that history; the patient was informed once she regained consciousness.")}),
    "scc-transcall": ("eu_scc", "Transcall Interpreting - EU SCC Module 2", "2021-08-01",
                      ["fr"], ["transcall"],
                      {"scc_decision": "2021/914", "scc_modules": "2", "document_reference": "TC-2021-08-SCC"}),
    "scc-polyglot": ("eu_scc", "Lingua Medica / Polyglot - EU SCC Module 3", "2023-06-01",
                     ["lingua"], ["polyglot"],
                     {"scc_decision": "2021/914", "scc_modules": "3", "document_reference": "LM-PG-2023-SCC",
                      "notes": "Fallback to the EU-US DPF."}),
}
TERMINATED_INSTRUMENTS = {"scc-transcall": "2024-12-31"}

# --- routes: shared wording -------------------------------------------------------------------

TRAVELLERS = "Insured travellers, cardholders and their companions"
PATIENTS = "Patients assisted abroad"
EMPLOYEES = "Employees, contractors and job applicants"
CASE_DATA = "Identity and contact details, itinerary, policy and entitlement, assistance case notes"
MEDICAL_DATA = CASE_DATA + ", medical reports, diagnoses and treatment (health data)"
CRM_DATA = "Contact details, call and message history, service preferences"
HR_DATA = "Identity, contract, pay, absence and performance records"
CONSENT = "Explicit consent taken by the assistance coordinator (script MED-CONSENT v4), confirmed in the Meridian app"
CONSENTED, VITAL, NO_BASIS = "explicit_consent", "vital_interests", "no_basis"
C, P = "controller", "processor"

# Regional hubs: local cases of these entities are handled by a hub outside the EEA, UK and
# Switzerland; no EU, UK or Swiss data travels on these routes (not assessed).
REGIONAL_HUBS = {
    "sg": ("jp", "kr", "cn", "in", "th", "au", "nz"),
    "mx": ("br", "ar", "uy"),
    "za": ("ae", "eg", "ke", "tr"),
}
CALL_CENTRE_ENTITIES = ("fr", "de", "es", "it", "pl", "pt", "gb", "ch")
OVERFLOW_ENTITIES = ("fr", "be", "nl", "de", "at")

# Medical provider networks: HQ -> network. instrument (None: adequacy, intra-EEA or a gap), basis, note
MEDICAL_NETWORK_ROUTES = {
    "atlas": ("scc-medical", CONSENTED, None),
    "sanjeevani": ("scc-medical", CONSENTED, None),
    "siam": ("scc-medical", CONSENTED, None),
    "anadolu": ("scc-medical", CONSENTED, None),
    "savannah": ("scc-medical", CONSENTED, None),
    "sakura": (None, CONSENTED, None),
    "hanbit": (None, CONSENTED, None),
    "maple": (None, CONSENTED, None),
    # Deliberate: PIPEDA coverage unknown, so adequacy cannot be assumed until the cooperative answers.
    "northern": (None, VITAL, "Remote-area emergencies only."),
    "carmel": (None, CONSENTED, None),
    "lemanique": (None, CONSENTED, None),
    "kiwi": (None, CONSENTED, None),
    "rioplatense": (None, CONSENTED, None),
    "delsur": (None, CONSENTED, None),
    "costabrava": (None, CONSENTED, None),
    "pacifico": (None, CONSENTED, "Deliberate gap: no SCC signed with the Mexican network."),
    "gulfcare": (None, CONSENTED, "Deliberate gap: no SCC signed with the UAE network."),
    "capemed": (None, CONSENTED, "Deliberate gap: no SCC signed with the South African network."),
    "southern": (None, CONSENTED, "Deliberate gap: no SCC signed with the Australian network."),
    "lioncity": (None, CONSENTED, "Deliberate gap: no SCC signed with the Singapore network."),
    # Brazil's EU decision applies from 2026-01-26; this network was contracted after it.
    "saude": (None, CONSENTED, "Relies on the EU adequacy decision for Brazil (2026/179)."),
}
MEDICAL_NETWORK_STARTS = {"saude": "2026-03-01"}
# Networks engaged without a standing referral route (used case by case, or by another entity).
OTHER_MEDICAL_ENGAGEMENTS = ("huaxia", "nile")

# TIAs (UK: transfer risk assessments). route key: regime, assessed on, outcome, next review, note
ASSESSMENTS = [
    ("case-out:us", "EU", "2024-03-04", "can_comply", Relative(240),
     "US surveillance law reviewed against the DPF redress mechanism."),
    ("case-out:in", "EU", "2024-03-11", "can_comply_with_measures", Relative(180),
     "Pseudonymised case files; the re-identification key stays in the EU."),
    ("case-out:sg", "EU", "2024-03-18", "can_comply", Relative(300), None),
    ("case-out:za", "EU", "2024-04-02", "can_comply", Relative(150), None),
    ("case-out:mx", "EU", "2024-04-09", "can_comply", Relative(200), None),
    ("case-out:br", "EU", "2024-04-16", "can_comply", Relative(320), None),
    ("case-out:tr", "EU", "2024-05-06", "can_comply_with_measures", Relative(120),
     "Encryption at rest with EU-held keys."),
    ("case-out:eg", "EU", "2024-05-13", "can_comply", Relative(90), None),
    # Deliberate: next review date passed.
    ("case-out:ke", "EU", "2023-09-01", "can_comply", Relative(-20), None),
    ("case-out:us-mar", "EU", "2024-06-03", "can_comply", Relative(260), None),
    # Deliberate: the assessment concluded the SCCs cannot be complied with; the route has no valid tool.
    ("case-out:cn", "EU", "2024-07-01", "cannot_comply", Relative(30),
     "Access by public authorities cannot be excluded or mitigated for identifiable case files."),
    # case-out:th has no TIA (deliberate).
    ("gb>in", "UK", "2024-02-12", "can_comply", Relative(210), "Transfer risk assessment (ICO tool)."),
    ("gb>in", "EU", "2024-02-12", "can_comply_with_measures", Relative(210), "Same measures as the HQ route."),
    ("gb>sanjeevani", "UK", "2023-01-16", "can_comply", Relative(140), None),
    ("gb>za", "UK", "2023-05-30", "can_comply", Relative(100), None),
    ("ch>sg", "CH", "2023-09-25", "can_comply", Relative(230), None),
    ("hris-offshore:EU", "EU", "2024-03-01", "can_comply_with_measures", Relative(170),
     "Payroll files encrypted in transit and at rest."),
    ("soc", "EU", "2022-06-01", "can_comply_with_measures", Relative(60), "Logs pseudonymised before export."),
    ("medical:sanjeevani", "EU", "2022-08-20", "can_comply_with_measures", Relative(110), None),
    ("medical:atlas", "EU", "2022-08-20", "can_comply", Relative(110), None),
    ("medical:siam", "EU", "2022-08-22", "can_comply", Relative(130), None),
]

# Intra-group routes as recorded since the BCR and the intra-group agreement were in place.
GROUP_ROUTES_SINCE = "2022-06-01"


# --- building ---------------------------------------------------------------------------------


class RegisterNotEmpty(click.ClickException):
    """The demo loads only into an empty register (a ClickException so `flask seed-demo` says so plainly)."""


class DemoBuilder:
    """Writes the tables above through the services, remembering each record's id by its key."""

    def __init__(self, today: date):
        self.today = today
        self.parties: dict[str, int] = {}
        self.countries: dict[str, Optional[str]] = {}
        self.kinds: dict[str, type] = {}
        self.engagements: dict[str, int] = {}
        self.bcr_approvals: dict[str, int] = {}
        self.instruments: dict[str, int] = {}
        self.instrument_signed: dict[str, date] = {}
        self.routes: dict[str, int] = {}
        self.route_regimes: dict[str, frozenset[str]] = {}
        self.to_retire: list[tuple[type, int, date]] = []
        # The session's identity map holds records weakly: keeping them spares the validators a
        # reload of every party, engagement and route they look up (half the loading time).
        self.held: list[Any] = []

    def create(self, model: type, values: dict) -> Any:
        record = services.create(model, values)
        self.held.append(record)
        return record

    def day(self, value: Day) -> Optional[date]:
        if value is None:
            return None
        if isinstance(value, Relative):
            return self.today + timedelta(days=value.days)
        return date.fromisoformat(value)

    def id_of(self, key: str) -> int:
        return self.parties[key]

    # --- parties ------------------------------------------------------------------------------

    def party(self, key: str, model: type, values: dict) -> None:
        record = self.create(model, values)
        self.parties[key] = record.id
        self.countries[key] = values.get("country_code")
        self.kinds[key] = model
        if key in ENDED:
            self.to_retire.append((Party, record.id, self.day(ENDED[key])))

    def group_entities(self) -> None:
        for key, (name, country, since, serves_clients, registration, address) in GROUP_ENTITIES.items():
            dpo_name, dpo_email = DPOS.get(key, (None, None))
            self.party(key, GroupEntity, {
                "legal_name": name, "trading_name": "Meridian Assist", "country_code": country,
                "registration_number": registration, "address": address, "website": "https://www.meridian.example",
                "contact_name": "Group Privacy Office", "contact_email": "privacy@meridian.example",
                "dpo_name": dpo_name, "dpo_email": dpo_email, "is_controller": True,
                "is_processor": serves_clients, "starts_on": self.day(since),
                "notes": "Group headquarters and lead establishment (CNIL)." if key == HQ else None,
            })

    def third_parties(self) -> None:
        for key, (name, country, city, service, vetting) in THIRD_PARTIES.items():
            values = {
                "legal_name": name, "country_code": country, "address": city, "website": f"https://www.{key}.example",
                "contact_email": f"privacy@{key}.example", "vetting_status": vetting,
                "vetting_last_review_on": self.day("2025-09-15") if vetting != "pending" else None,
                "vetting_next_review_on": self.day(Relative(200)) if vetting != "pending" else None,
                "notes": service,
            }
            for field, value in THIRD_PARTY_DETAILS.get(key, {}).items():
                values[field] = self.day(value) if isinstance(value, Relative) else value
            self.party(key, ThirdParty, values)

    def clients(self) -> None:
        for key, (name, country, city, notice_days, _served_by) in CLIENTS.items():
            self.party(key, Client, {
                "legal_name": name, "country_code": country, "address": city,
                "contact_email": f"dpo@{key}.example", "notice_period_days": notice_days,
            })

    def international_organisations(self) -> None:
        for key, (name, code, address) in INTERNATIONAL_ORGANISATIONS.items():
            self.party(key, InternationalOrganisation,
                       {"legal_name": name, "organisation_code": code, "address": address})

    def vetting(self) -> None:
        for key, edition, number, body, issued, expires, verified in CERTIFICATES:
            self.create(Certificate, {
                "third_party_id": self.id_of(key), "edition": edition, "certificate_number": number,
                "certification_body": body, "scope": f"ISMS for {THIRD_PARTIES[key][3].lower()}",
                "issued_on": self.day(issued), "expires_on": self.day(expires), "last_verified_on": self.day(verified),
            })
        for rows, active in ((DPF_CERTIFICATIONS, True), (INACTIVE_DPF, False)):
            for key, framework, hr, non_hr, entity, verified in rows:
                self.create(DpfCertification, {
                    "third_party_id": self.id_of(key), "framework": framework, "covers_hr_data": hr,
                    "covers_non_hr_data": non_hr, "certified_entity_name": entity or THIRD_PARTIES[key][0],
                    "is_active": active, "verified_on": self.day(verified),
                })
        for key, alias, answer, verified, note in SCOPE_FACTS:
            self.create(ScopeFact, {
                "party_id": self.id_of(key), "fact_key": SCOPE_FACT_KEYS[alias], "answer": answer,
                "verified_on": self.day(verified), "note": note,
            })

    # --- engagements, BCR, instruments --------------------------------------------------------

    def engagement(self, key: str, engager: str, engaged: str, service: str, relationship: str, contract: Optional[str],
                   signed: Day, authorisation: str, locations: list[str]) -> None:
        signed_on = self.day(signed)
        values = {
            "engager_id": self.id_of(engager), "engaged_id": self.id_of(engaged), "service": service,
            "relationship_type": relationship, "contract_reference": contract, "contract_signed_on": signed_on,
            "authorisation": authorisation,
            "authorised_on": signed_on if authorisation in ("general", "specific") else None,
            "starts_on": signed_on,
            "locations": [self._location(item) for item in locations],
        }
        if key in PROPOSED_ENGAGEMENTS:
            values.update(status="proposed", planned_start_on=self.day(PROPOSED_ENGAGEMENTS[key]))
        record = self.create(Engagement, values)
        self.engagements[key] = record.id
        ended = [self.day(ENDED[party]) for party in (engager, engaged) if party in ENDED]
        if ended:
            self.to_retire.append((Engagement, record.id, min(ended)))

    @staticmethod
    def _location(item: str) -> dict:
        """"IE:storage" -> {"country_code": "IE", "activity": "storage"}; a bare code is storage and access."""
        code, _, activity = item.partition(":")
        return {"country_code": code, "activity": activity or "storage_and_access"}

    def all_engagements(self) -> None:
        for key, row in ENGAGEMENTS.items():
            self.engagement(key, *row)
        for key in (*MEDICAL_NETWORK_ROUTES, *OTHER_MEDICAL_ENGAGEMENTS):
            signed = MEDICAL_NETWORK_STARTS.get(key, "2022-09-01")
            self.engagement(f"medical:{key}", MEDICAL_NETWORK_ENGAGER.get(key, HQ), key,
                            "Medical care for assisted travellers", INDEPENDENT, f"MED-NET-{key.upper()}", signed,
                            "not_required", [THIRD_PARTIES[key][1]])
        for key, (_name, _country, _city, _notice, served_by) in CLIENTS.items():
            self.engagement(f"client:{key}", key, served_by, CLIENT_SERVICE, PROCESSOR, f"CLIENT-{key.upper()}-DPA",
                            "2022-01-01", "general", [self.countries[served_by], "FR"])

    def notices(self) -> None:
        for engagement, client, sent, objected, outcome in NOTICES:
            name, _country, _city, _notice, _served_by = CLIENTS[client]
            self.create(ChangeNotice, {
                "client_id": self.id_of(client), "engagement_id": self.engagements[engagement], "sent_on": self.day(sent),
                "sent_to": f"privacy@{client}.example", "objection_received_on": self.day(objected), "outcome": outcome,
                "notes": f"Sub-processor list update e-mailed to {name}.",
            })

    def bcr(self) -> None:
        name = "Meridian Assist Group Binding Corporate Rules (controller)"
        approvals = {
            "eu": ({"name": name, "regime": "EU", "bcr_type": "bcr_c",
                    "authority": "Commission nationale de l'informatique et des libertés (CNIL), lead authority",
                    "reference": "CNIL deliberation 2021-118, after an EDPB opinion",
                    "approved_on": self.day("2021-09-15"),
                    "notes": "No Swiss approval: Swiss exports cannot rely on these BCR."}, EU_BCR_MEMBERS),
            "uk": ({"name": name, "regime": "UK", "bcr_type": "bcr_c",
                    "authority": "Information Commissioner's Office (ICO)", "reference": "ICO BCR approval 2023/0117",
                    "approved_on": self.day("2023-03-10")}, UK_BCR_MEMBERS),
        }
        for key, (values, members) in approvals.items():
            memberships = [
                {"group_entity_id": self.id_of(entity), "bound_from": self.day(start), "bound_to": self.day(end)}
                for entity, (start, end) in members.items()
            ]
            self.bcr_approvals[key] = self.create(BcrApproval, {**values, "memberships": memberships}).id

    def all_instruments(self) -> None:
        for key, (kind, title, signed, exporters, importers, details) in INSTRUMENTS.items():
            values = {"kind": kind, "title": title, "signed_on": self.day(signed), **details}
            if "bcr_approval" in values:
                values["bcr_approval_id"] = self.bcr_approvals[values.pop("bcr_approval")]
            values["signatories"] = (
                [{"party_id": self.id_of(party), "side": "exporter"} for party in exporters]
                + [{"party_id": self.id_of(party), "side": "importer"} for party in importers]
            )
            record = self.create(TransferInstrument, values)
            self.instruments[key] = record.id
            self.instrument_signed[key] = record.signed_on
            if key in TERMINATED_INSTRUMENTS:
                self.to_retire.append((TransferInstrument, record.id, self.day(TERMINATED_INSTRUMENTS[key])))

    # --- routes -------------------------------------------------------------------------------

    def route(self, key: str, exporter: str, importer: str, purpose: str, *, roles: tuple[str, str] = (C, P),
              subjects: str = TRAVELLERS, data: str = CASE_DATA, instruments: tuple[str, ...] = (),
              engagement: Optional[str] = None, source: Optional[str] = None, regimes: Optional[set[str]] = None,
              basis: Optional[str] = None, hr: bool = False, starts_on: Day = GROUP_ROUTES_SINCE,
              status: str = "active", notes: Optional[str] = None) -> None:
        """One route; its regimes are the exporter's own plus those its source route carried."""
        if regimes is None:
            regimes = {home_regime(self.countries[exporter])} - {None}
            if source is not None:
                regimes |= self.route_regimes[source]
        destination: dict[str, Any] = (
            {"destination_organisation_id": self.id_of(importer)}
            if self.kinds[importer] is InternationalOrganisation
            else {"destination_country": self.countries[importer]}
        )
        # A route starts no earlier than the group entities at its ends and the instruments it relies on.
        starts = max([self.day(starts_on)]
                     + [self.day(GROUP_ENTITIES[party][2]) for party in (exporter, importer) if party in GROUP_ENTITIES]
                     + [self.instrument_signed[item] for item in instruments])
        values = {
            "exporter_id": self.id_of(exporter), "importer_id": self.id_of(importer), **destination,
            "carries_eu_data": "EU" in regimes, "carries_uk_data": "UK" in regimes, "carries_ch_data": "CH" in regimes,
            "source_route_id": self.routes[source] if source else None,
            "exporter_role": roles[0], "importer_role": roles[1],
            "engagement_id": self.engagements[engagement] if engagement else None,
            "purpose": purpose, "data_subject_categories": subjects, "data_categories": data,
            "has_special_category_data": basis is not None,
            "special_category_basis": basis if basis in (CONSENTED, VITAL) else None,
            "consent_mechanism": CONSENT if basis == CONSENTED else None,
            "has_hr_data": hr, "status": status, "starts_on": starts if status != "proposed" else None,
            "notes": notes, "instrument_ids": [self.instruments[item] for item in instruments],
        }
        record = self.create(TransferRoute, values)
        self.routes[key] = record.id
        self.route_regimes[key] = frozenset(regimes)
        ended = [self.day(ENDED[party]) for party in (exporter, importer) if party in ENDED]
        if ended and status == "active":
            self.to_retire.append((TransferRoute, record.id, min(ended)))

    def group_routes(self) -> None:
        """Every entity escalates cases to the HQ, and the HQ passes cases to every entity."""
        for key, (_name, country, *_rest) in GROUP_ENTITIES.items():
            if key == HQ:
                continue
            self.route(f"case-in:{key}", key, HQ, "Escalation of assistance cases to the group medical team",
                       roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED)
            self.route(f"case-out:{key}", HQ, key, "Case coordination with the local assistance entity",
                       roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED,
                       instruments=self._intra_group_instruments(key, country),
                       notes=self._intra_group_note(key))

    @staticmethod
    def _intra_group_instruments(key: str, country: str) -> tuple[str, ...]:
        if country in EEA or country in EU_ADEQUATE:
            return ()  # free flow or adequacy (scope facts recorded for JP, KR, CA, IL)
        if key in EU_BCR_MEMBERS:
            return ("bcr-eu",)  # incl. Brazil: BCR before the 2026 decision, adequacy after
        if key in INTRA_GROUP_SCC_IMPORTERS:
            return ("iga",)
        return ()

    @staticmethod
    def _intra_group_note(key: str) -> Optional[str]:
        return {
            "au": "Deliberate gap: the Australian entity (2024) has not acceded to the intra-group agreement.",
            "ae": "Deliberate gap: the UAE entity (2023) has not acceded to the intra-group agreement.",
            "th": "Deliberate: no transfer impact assessment on file.",
        }.get(key)

    def bulk_vendor_routes(self) -> None:
        """Every entity uses the group CRM and HRIS; some use telephony, overflow and regional hubs."""
        for key, (_name, country, *_rest) in GROUP_ENTITIES.items():
            regime = home_regime(country)
            crm_instruments = {"EU": ("scc-relata",), "UK": ("scc-relata", "add-relata"), "CH": ("scc-swiss",)}
            self.route(f"crm:{key}", key, "relata", "Customer contact history in the group CRM", data=CRM_DATA,
                       engagement="crm", instruments=crm_instruments.get(regime, ()), starts_on="2023-01-01")
            # Swiss staff records moved once Peoplestack's Swiss-US DPF certification could be relied on.
            self.route(f"hr:{key}", key, "peoplestack", "Staff records in the group HR system", subjects=EMPLOYEES,
                       data=HR_DATA, hr=True, engagement="hris",
                       starts_on="2024-09-15" if regime == "CH" else "2024-01-01")
        for key in CALL_CENTRE_ENTITIES:
            # Deliberate: relies on the DPF, but the DPF List names Callwave's parent, not Callwave.
            self.route(f"telephony:{key}", key, "callwave", "Call handling and call recording", data=CRM_DATA,
                       engagement="telephony", starts_on="2023-06-01")
        for key in OVERFLOW_ENTITIES:
            self.route(f"overflow:{key}", key, "voxa", "Overflow call handling", data=CASE_DATA,
                       engagement="overflow", starts_on="2020-11-15")
        for hub, members in REGIONAL_HUBS.items():
            for member in members:
                self.route(f"hub:{member}", member, hub, "Local cases handled by the regional hub",
                           roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED,
                           notes="Local travellers only: no EU, UK or Swiss data.")

    def medical_network_routes(self) -> None:
        for key, (instrument, basis, note) in MEDICAL_NETWORK_ROUTES.items():
            self.route(f"medical:{key}", HQ, key, "Referral of a patient to a network provider", roles=(C, C),
                       subjects=PATIENTS, data=MEDICAL_DATA, basis=basis, engagement=f"medical:{key}",
                       instruments=(instrument,) if instrument else (), notes=note,
                       starts_on=MEDICAL_NETWORK_STARTS.get(key, "2022-09-15"))

    def specific_routes(self) -> None:
        r = self.route
        # Hosting, and the vendors that pass data on to the shared cloud (onward transfers).
        r("hosting:fr", HQ, "nimbus", "Hosting of the case management platform", data=MEDICAL_DATA, subjects=PATIENTS,
          basis=CONSENTED, engagement="hosting", instruments=("scc-nimbus",), starts_on="2023-03-01")
        r("hosting:gb", "gb", "nimbus", "Hosting of the case management platform", data=MEDICAL_DATA, subjects=PATIENTS,
          basis=CONSENTED, engagement="hosting", instruments=("scc-nimbus", "add-nimbus"), starts_on="2023-03-01")
        r("hosting:ch", "ch", "nimbus", "Hosting of the case management platform", data=MEDICAL_DATA, subjects=PATIENTS,
          basis=CONSENTED, engagement="hosting", starts_on="2024-09-15", notes="Relies on the Swiss-US DPF.")
        r("hosting:de", "de", "nimbus", "Hosting of the case management platform", data=MEDICAL_DATA, subjects=PATIENTS,
          basis=CONSENTED, engagement="hosting", instruments=("scc-nimbus",), starts_on="2023-03-01")
        r("crm>nimbus", "relata", "nimbus", "CRM hosting", roles=(P, P), data=CRM_DATA, engagement="crm-hosting",
          source="crm:fr", regimes={"EU", "UK", "CH"}, starts_on="2023-01-01")
        r("telephony>nimbus", "callwave", "nimbus", "Call recording storage", roles=(P, P), data=CRM_DATA,
          engagement="call-storage", source="telephony:fr", starts_on="2023-06-01")
        r("hris>nimbus", "peoplestack", "nimbus", "HRIS hosting", roles=(P, P), subjects=EMPLOYEES, data=HR_DATA,
          hr=True, engagement="hris-hosting", source="hr:fr", regimes={"EU", "UK", "CH"}, starts_on="2024-01-01")
        # A US processor passing EU (and UK, Swiss) payroll data to an Indian sub-processor.
        r("hris-offshore:EU", "peoplestack", "kaveri", "Payroll processing for non-US staff", roles=(P, P),
          subjects=EMPLOYEES, data=HR_DATA, hr=True, engagement="payroll-offshore", source="hr:fr",
          instruments=("scc-kaveri",), starts_on="2024-04-01")
        r("hris-offshore:UK", "peoplestack", "kaveri", "Payroll processing for non-US staff", roles=(P, P),
          subjects=EMPLOYEES, data=HR_DATA, hr=True, engagement="payroll-offshore", source="hr:gb",
          instruments=("scc-kaveri",), starts_on="2024-04-01",
          notes="Deliberate: EU SCCs without the UK Addendum are no tool for UK data.")
        r("hris-offshore:CH", "peoplestack", "kaveri", "Payroll processing for non-US staff", roles=(P, P),
          subjects=EMPLOYEES, data=HR_DATA, hr=True, engagement="payroll-offshore", source="hr:ch",
          instruments=("scc-kaveri",), starts_on="2024-04-01")
        r("translation", HQ, "lingua", "Translation of medical reports", subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="translation", starts_on="2021-03-01")
        r("translation>polyglot", "lingua", "polyglot", "Machine translation of medical reports", roles=(P, P),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED, engagement="machine-translation",
          source="translation", instruments=("scc-polyglot",), starts_on="2023-06-01")
        r("polyglot>nimbus", "polyglot", "nimbus", "Translation model hosting", roles=(P, P), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, engagement="mt-hosting", source="translation>polyglot",
          starts_on="2023-06-01")
        r("dsar:fr", HQ, "rightsdesk", "Intake and tracking of privacy requests", subjects=TRAVELLERS + ", employees",
          data="Requester identity, request details, correspondence", engagement="dsar", starts_on="2024-01-15")
        r("dsar:gb", "gb", "rightsdesk", "Intake and tracking of privacy requests", subjects=TRAVELLERS + ", employees",
          data="Requester identity, request details, correspondence", engagement="dsar", starts_on="2024-01-15")
        # EU and UK data in one route: the portal holds requests from both.
        r("dsar>nimbus", "rightsdesk", "nimbus", "Portal hosting", roles=(P, P),
          data="Requester identity, request details",
          engagement="dsar-hosting", source="dsar:fr", regimes={"EU", "UK"}, starts_on="2024-01-15")
        r("overflow>ubuntu", "voxa", "ubuntu", "Night-shift overflow call handling", roles=(P, P), data=CASE_DATA,
          engagement="night-shift", source="overflow:fr", starts_on="2024-09-15",
          notes="Deliberate gap: no SCC between Voxa and Ubuntu Contact Solutions.")

        # Other processors of the HQ.
        r("soc", HQ, "sentinel", "Security log monitoring", subjects="Staff and app users",
          data="Log data with user identifiers and IP addresses", engagement="soc", instruments=("scc-soc",),
          starts_on="2022-07-01",
          notes="Deliberate: the SCC was signed as Module 1; Sentinel is a processor (Module 2).")
        r("email:fr", HQ, "postwire", "Case status emails", data=CRM_DATA, engagement="email", starts_on="2022-01-01")
        r("email:gb", "gb", "postwire", "Case status emails", data=CRM_DATA, engagement="email", starts_on="2022-01-01")
        r("gds", HQ, "skylink", "Booking of repatriation flights", data="Passenger name records", engagement="gds",
          starts_on="2019-10-15")
        r("sso", HQ, "keyvault", "Staff single sign-on", subjects=EMPLOYEES, data="Staff identity and login records",
          hr=True, engagement="sso", starts_on="2022-09-15")
        # Deliberate: Skillpath's DPF entry covers non-HR data only, and it has no UK Extension.
        r("training:fr", HQ, "skillpath", "Staff training records", subjects=EMPLOYEES, data=HR_DATA, hr=True,
          engagement="training", starts_on="2024-02-15")
        r("training:gb", "gb", "skillpath", "Staff training records", subjects=EMPLOYEES, data=HR_DATA, hr=True,
          engagement="training", starts_on="2024-02-15")
        r("payroll:de", "de", "lohnwerk", "German payroll", subjects=EMPLOYEES, data=HR_DATA, hr=True,
          engagement="payroll-de", starts_on="2019-05-01")
        r("bill-review", HQ, "claimsure", "Review of US hospital bills", subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="bill-review", starts_on="2023-03-15")
        r("bill-payment", HQ, "paynetic", "Payment of hospital bills", data="Case reference, invoice, bank details",
          engagement="bill-payment", starts_on="2020-02-15")
        r("card-payments", HQ, "clearline", "Card payments for cost advances", data="Cardholder name, card token",
          engagement="card-payments", starts_on="2022-04-15")
        r("archive", HQ, "azurine", "Backup and archive of case files", subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="archive", starts_on="2021-05-15")
        r("scanning", HQ, "archivum", "Scanning of paper medical files", subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="scanning", starts_on="2018-07-15")
        r("sms", "gb", "textbridge", "SMS to travellers", data="Phone number, case reference", engagement="sms",
          starts_on="2022-01-15")
        r("backup-ch", "ch", "coldstore", "Offsite backup", subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED,
          engagement="backup-ch", starts_on="2020-04-15")
        r("interpreting", HQ, "swift", "Telephone interpreting on assistance calls", data=CASE_DATA,
          engagement="interpreting", starts_on="2025-01-15",
          notes="Deliberate gap: no SCC with the Australian interpreting service.")
        r("interpreting-old", HQ, "transcall", "Telephone interpreting on assistance calls", data=CASE_DATA,
          engagement="interpreting-old", instruments=("scc-transcall",), starts_on="2021-08-15")
        r("triage", HQ, "medibot", "AI symptom triage in the assistance app", subjects=TRAVELLERS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="triage", status="proposed",
          notes="Proposed: starts when the security review and a DPIA are complete.")

        # Independent and joint controllers.
        r("air-ambulance", HQ, "skycare", "Air ambulance repatriation", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=VITAL, engagement="air-ambulance", starts_on="2018-02-01")
        r("medevac", HQ, "alpine", "Joint medevac coordination", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="medevac", starts_on="2022-02-15")
        r("repatriation-travel", HQ, "tripwise", "Repatriation travel bookings", roles=(C, C),
          data="Passenger names, itinerary, mobility needs", engagement="repatriation-travel", starts_on="2020-06-15")
        r("gulf-medevac", HQ, "falcon", "Air ambulance repatriation from the Gulf", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, engagement="gulf-medevac", instruments=("derogation-b",),
          starts_on="2025-03-02")
        r("emergency:nile", HQ, "nile", "Emergency admission of an unconscious patient", roles=(C, C),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=VITAL, engagement="medical:nile",
          instruments=("derogation-f",), starts_on="2025-08-14")
        # Deliberate: health data to a reinsurer with no special-category basis recorded.
        r("reinsurance", HQ, "alpenruck", "Large-loss reporting to the reinsurer", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=NO_BASIS, engagement="reinsurance", starts_on="2017-01-15")
        r("claims-gb", "gb", "thames", "Claims information to the insurer", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, engagement="claims-gb", starts_on="2019-02-15")
        r("claims-us", HQ, "liberty", "Claims information to the insurer", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, engagement="claims-us", instruments=("scc-medical",),
          starts_on="2022-09-15", notes="Insurers cannot join the DPF (outside FTC jurisdiction): SCCs instead.")
        r("claims-kr", HQ, "hangang", "Cardholder assistance claims", roles=(C, C),
          data="Cardholder identity, card number, claim amounts", engagement="claims-kr", starts_on="2024-05-15",
          notes="Deliberate gap: credit information is outside the Korean adequacy decision; no SCC.")
        r("telehealth", HQ, "docnow", "Teleconsultation referrals", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, engagement="telehealth", instruments=("scc-medical",), starts_on="2022-09-15",
          notes="Docnow is subject to the GDPR under Art. 3(2): review the SCCs' fit.")
        r("ground-ambulance", "mx", "rapido", "Ground ambulance transfers", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=VITAL, engagement="ground-ambulance", starts_on="2021-01-15",
          notes="Mexican cases only: no EU, UK or Swiss data.")
        r("ground-ambulance:fr", HQ, "rapido", "Ground ambulance transfers of European travellers", roles=(C, C),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=VITAL, starts_on="2021-01-15",
          notes="Deliberate gap: no instrument to Mexico for EU travellers' data.")
        r("huaxia", "de", "huaxia", "Referral of German travellers to international clinics", roles=(C, C),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED, engagement="medical:huaxia", instruments=("scc-2010",),
          starts_on="2019-05-15", notes="Deliberate: still on the 2010 SCCs (invalid since 2022-12-27).")
        r("direct-referral:it", "it", "sanjeevani", "Direct referral by the Italian desk", roles=(C, C),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED,
          starts_on="2023-04-01", notes="Deliberate gap: the Italian entity is not a party to the network SCCs.")

        # UK exports.
        r("gb>in", "gb", "in", "UK and EU cases handled by the Indian shared service centre", roles=(C, P),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED, source="case-out:gb",
          instruments=("bcr-eu", "bcr-uk"), starts_on="2023-03-15")
        r("gb>sanjeevani", "gb", "sanjeevani", "Referral of UK travellers", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, instruments=("idta-sanjeevani",),
          starts_on="2023-01-20")
        r("gb>us", "gb", "us", "UK cases handled in Houston", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, instruments=("bcr-uk",), starts_on="2023-03-15")
        r("gb>sg", "gb", "sg", "UK cases handled by the APAC hub", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, instruments=("bcr-uk",), starts_on="2023-03-15")
        r("gb>za", "gb", "za", "UK cases in southern Africa", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, instruments=("idta-group",), starts_on="2023-06-01")
        r("gb>mx", "gb", "mx", "UK cases in Mexico", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, instruments=("idta-group",), starts_on="2023-06-01")
        r("gb>th", "gb", "th", "UK cases in Thailand", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, instruments=("iga",), starts_on="2022-03-15",
          notes="Deliberate: EU SCCs alone are never valid for a UK export (no IDTA or Addendum).")
        r("gb>au", "gb", "au", "UK cases in Australia", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, starts_on="2024-02-01", notes="Deliberate gap: no UK tool for Australia.")

        # Swiss exports.
        r("ch>sg", "ch", "sg", "Swiss cases handled by the APAC hub", roles=(C, C), subjects=PATIENTS,
          data=MEDICAL_DATA, basis=CONSENTED, instruments=("scc-swiss",), starts_on="2023-10-02")
        r("ch>in", "ch", "in", "Swiss cases handled by the Indian shared service centre", roles=(C, P),
          subjects=PATIENTS, data=MEDICAL_DATA, basis=CONSENTED, instruments=("bcr-eu",), starts_on="2022-01-10",
          notes="Deliberate: the EU BCR approval does not cover a Swiss export; there is no Swiss BCR.")
        r("ch>jp", "ch", "jp", "Swiss cases in Japan", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, starts_on="2021-06-01", notes="Deliberate gap: Japan is not on the Swiss adequacy list.")
        r("ch>kr", "ch", "kr", "Swiss cases in Korea", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, starts_on="2021-06-01", notes="Deliberate gap: Korea is not on the Swiss adequacy list.")
        r("ch>ca", "ch", "ca", "Swiss cases in Canada", roles=(C, C), subjects=PATIENTS, data=MEDICAL_DATA,
          basis=CONSENTED, starts_on="2021-06-01")

        # The international organisation: duty-of-care reports on EPO staff assisted on mission.
        r("epo", "de", "epo", "Duty-of-care reports on staff assisted on mission", roles=(C, C),
          subjects="EPO staff on mission", data=CASE_DATA, starts_on="2025-09-01",
          notes="Relies on the EU adequacy decision for the European Patent Organisation (2025/1382).")

        # Clients and the group acting as their processor.
        for key, (_name, _country, _city, _notice, served_by) in CLIENTS.items():
            r(f"client:{key}", key, served_by, "Assistance cases of the client's insured persons", roles=(C, P),
              subjects=TRAVELLERS, data=CASE_DATA, engagement=f"client:{key}", starts_on="2022-01-15")
        r("client-report:continental", HQ, "continental", "Case reports on cardholders assisted in Europe",
          roles=(P, C), subjects="Cardholders", data=MEDICAL_DATA, basis=CONSENTED, engagement="client:continental",
          instruments=("scc-card",), starts_on="2023-05-15")
        r("client:continental>mx", "continental", "mx", "Cardholders assisted in Mexico", roles=(C, P),
          subjects="Cardholders", data=CASE_DATA, engagement="card-mexico", starts_on="2022-01-15",
          notes="US cardholders in Mexico: no EU, UK or Swiss data (not assessed).")

    def assessments(self) -> None:
        for route, regime, assessed, outcome, next_review, note in ASSESSMENTS:
            self.create(TransferImpactAssessment, {
                "route_id": self.routes[route], "regime": regime, "assessed_on": self.day(assessed),
                "outcome": outcome, "next_review_on": self.day(next_review), "notes": note,
                "document_reference": f"TIA-{route.upper().replace(':', '-').replace('>', '-')}",
            })

    def retirements(self) -> None:
        """Retire what ended, through the services so the trail shows when."""
        for model, record_id, ends_on in self.to_retire:
            record = db.session.get(model, record_id)
            services.retire(record, expected_version=record.version, ends_on=ends_on)
        self.to_retire.clear()


DEMO_USERS = [
    (Role.ADMIN, "admin@meridian.example", "Amélie Laurent"),
    (Role.EDITOR, "editor@meridian.example", "Jonas Becker"),
    (Role.AUDITOR, "auditor@meridian.example", "Priya Raman"),
]


def load_demo() -> list[tuple[str, str, str]]:
    """Fill an empty register with the Meridian Assist demo; returns the demo logins (role, email, password)."""
    emails = [email for _role, email, _name in DEMO_USERS]
    if db.session.scalar(select(func.count()).select_from(Party)) or db.session.scalar(
        select(func.count()).select_from(User).where(User.email.in_(emails))
    ):
        raise RegisterNotEmpty("The register already holds records: the demo loads only into an empty register.")
    demo = DemoBuilder(date.today())
    actor = Actor(AuditSource.SEED, label="seed")
    with services.write_unit(actor):
        demo.group_entities()
        demo.third_parties()
        demo.clients()
        demo.international_organisations()
        demo.vetting()
    with services.write_unit(actor):
        demo.all_engagements()
        demo.notices()
        demo.bcr()
        demo.all_instruments()
    with services.write_unit(actor):
        demo.group_routes()
        demo.bulk_vendor_routes()
        demo.medical_network_routes()
        demo.specific_routes()
        demo.assessments()
        demo.retirements()
    logins = []
    with services.write_unit(actor):
        for role, email, name in DEMO_USERS:
            password = generate_password()
            create_user(email, name, role, password)
            logins.append((role.value, email, password))
    return logins
