package phiscan

// The clinical lexicon: lowercase words and phrases whose presence in a
// note or a tag says the row is about someone's health. Matching is on whole
// words: text is split on punctuation (so "refill-overdue" is "refill
// overdue" and "follow-up" is "follow up") and a phrase must match a run of
// whole words. Words that are also everyday English or common names ("aids",
// "filling", "physical" alone) are left out on purpose.

// Lexicon groups, as reported in ColumnReport.Mentions.
const (
	GroupCondition  = "condition"
	GroupMedication = "medication"
	GroupAllergy    = "allergy"
	GroupVisitType  = "visit_type"
)

// Groups lists the lexicon groups in report order.
var Groups = []string{GroupCondition, GroupMedication, GroupAllergy, GroupVisitType}

// conditionTerms are common diagnoses and health states.
var conditionTerms = []string{
	"diabetes", "diabetic", "prediabetes", "type 1 diabetes", "type 2 diabetes", "gestational diabetes",
	"hypertension", "high blood pressure", "hypotension",
	"asthma", "copd", "emphysema", "bronchitis", "pneumonia",
	"depression", "depressed", "anxiety", "panic disorder", "bipolar", "schizophrenia",
	"ptsd", "ocd", "adhd", "autism", "eating disorder", "anorexia", "bulimia",
	"pregnancy", "pregnant", "prenatal", "postpartum", "miscarriage", "infertility",
	"cancer", "breast cancer", "prostate cancer", "tumor", "tumour", "leukemia", "lymphoma", "chemotherapy",
	"hiv", "hepatitis", "hepatitis c", "tuberculosis", "std", "sti", "chlamydia", "herpes",
	"arthritis", "osteoarthritis", "rheumatoid arthritis", "osteoporosis", "gout", "fibromyalgia", "lupus",
	"migraine", "migraines", "epilepsy", "seizure", "seizures", "stroke", "dementia",
	"alzheimer", "alzheimers", "parkinson", "parkinsons", "multiple sclerosis",
	"heart disease", "heart failure", "atrial fibrillation", "afib", "coronary artery disease",
	"hyperlipidemia", "high cholesterol", "obesity", "obese",
	"hypothyroidism", "hyperthyroidism", "thyroid",
	"kidney disease", "ckd", "dialysis", "sleep apnea", "apnea", "insomnia",
	"gerd", "acid reflux", "ibs", "crohn", "crohns", "colitis", "celiac",
	"psoriasis", "eczema", "dermatitis",
	"chronic pain", "back pain", "neuropathy",
	"addiction", "alcoholism", "substance use", "opioid use disorder",
	"covid", "covid 19", "influenza", "flu",
	"anemia", "sickle cell", "glaucoma", "cataract", "cataracts", "macular degeneration",
	"periodontitis", "periodontal disease", "gingivitis", "gum disease", "tooth decay", "cavity", "cavities",
}

// medicationTerms are the most prescribed medicines by generic name, plus
// words that only make sense about a prescription.
var medicationTerms = []string{
	// Prescription wording.
	"refill", "refills", "prescription", "prescriptions", "prescribed",
	// Generic names.
	"atorvastatin", "levothyroxine", "metformin", "lisinopril", "amlodipine", "metoprolol",
	"albuterol", "omeprazole", "losartan", "gabapentin", "hydrochlorothiazide", "sertraline",
	"simvastatin", "montelukast", "escitalopram", "rosuvastatin", "bupropion", "furosemide",
	"pantoprazole", "trazodone", "dextroamphetamine", "amphetamine", "fluticasone", "tamsulosin",
	"fluoxetine", "carvedilol", "duloxetine", "meloxicam", "clopidogrel", "prednisone",
	"citalopram", "insulin", "insulin glargine", "insulin lispro", "insulin aspart",
	"potassium chloride", "pravastatin", "tramadol", "aspirin", "alprazolam", "ibuprofen",
	"cyclobenzaprine", "amoxicillin", "methylphenidate", "allopurinol", "venlafaxine",
	"clonazepam", "ergocalciferol", "cholecalciferol", "zolpidem", "apixaban", "glipizide",
	"hydrocodone", "oxycodone", "spironolactone", "semaglutide", "dulaglutide", "liraglutide",
	"tirzepatide", "empagliflozin", "dapagliflozin", "sitagliptin", "lamotrigine", "quetiapine",
	"aripiprazole", "risperidone", "olanzapine", "lorazepam", "diazepam", "propranolol",
	"atenolol", "diltiazem", "verapamil", "nifedipine", "hydralazine", "clonidine",
	"valsartan", "olmesartan", "irbesartan", "benazepril", "enalapril", "ramipril",
	"chlorthalidone", "triamterene", "warfarin", "rivaroxaban", "dabigatran", "digoxin",
	"famotidine", "ranitidine", "esomeprazole", "lansoprazole", "ondansetron", "promethazine",
	"meclizine", "cetirizine", "loratadine", "fexofenadine", "diphenhydramine", "hydroxyzine",
	"mometasone", "budesonide", "beclomethasone", "tiotropium", "ipratropium", "salmeterol",
	"formoterol", "methylprednisolone", "dexamethasone", "hydrocortisone", "triamcinolone",
	"azithromycin", "doxycycline", "cephalexin", "ciprofloxacin", "levofloxacin",
	"sulfamethoxazole", "trimethoprim", "nitrofurantoin", "clindamycin", "metronidazole",
	"penicillin", "augmentin", "fluconazole", "valacyclovir", "acyclovir", "oseltamivir",
	"naproxen", "celecoxib", "diclofenac", "acetaminophen", "baclofen", "tizanidine",
	"methocarbamol", "sumatriptan", "rizatriptan", "topiramate", "levetiracetam",
	"carbamazepine", "oxcarbazepine", "divalproex", "valproate", "phenytoin", "pregabalin",
	"buspirone", "mirtazapine", "paroxetine", "nortriptyline", "amitriptyline", "doxepin",
	"desvenlafaxine", "vortioxetine", "lithium", "lurasidone", "ziprasidone", "haloperidol",
	"lisdexamfetamine", "atomoxetine", "guanfacine", "donepezil", "memantine",
	"ropinirole", "pramipexole", "carbidopa", "levodopa", "finasteride", "oxybutynin",
	"tolterodine", "mirabegron", "sildenafil", "tadalafil", "estradiol", "progesterone",
	"medroxyprogesterone", "norethindrone", "levonorgestrel", "ethinyl estradiol",
	"drospirenone", "testosterone", "raloxifene", "alendronate", "ibandronate",
	"liothyronine", "methimazole", "glimepiride", "glyburide", "pioglitazone",
	"ezetimibe", "fenofibrate", "gemfibrozil", "niacin", "icosapent ethyl",
	"isosorbide", "nitroglycerin", "ranolazine", "amiodarone", "sotalol", "flecainide",
	"bumetanide", "torsemide", "eplerenone", "sacubitril", "entresto", "colchicine",
	"febuxostat", "hydroxychloroquine", "methotrexate", "adalimumab", "etanercept",
	"folic acid", "cyanocobalamin", "ferrous sulfate", "magnesium oxide",
	"buprenorphine", "naloxone", "naltrexone", "methadone", "morphine", "fentanyl",
	"codeine", "benzonatate", "guaifenesin", "pseudoephedrine", "phentermine",
	"tretinoin", "isotretinoin", "minocycline", "ketoconazole", "terbinafine",
	"latanoprost", "timolol", "brimonidine", "epinephrine", "ozempic", "wegovy", "mounjaro",
}

// allergyTerms are how staff write about allergies.
var allergyTerms = []string{
	"allergy", "allergies", "allergic", "anaphylaxis", "anaphylactic", "epipen", "hives",
	"penicillin allergy", "sulfa allergy", "latex allergy", "peanut allergy", "food allergy",
	"drug allergy", "nkda", "nka", "no known allergies", "no known drug allergies",
	"intolerance", "intolerant",
}

// visitTypeTerms are kinds of visit: being seen for one is health care.
var visitTypeTerms = []string{
	"annual physical", "physical exam", "annual exam", "wellness visit", "annual wellness",
	"checkup", "check up", "follow up", "followup", "new patient", "established patient",
	"telehealth", "telemedicine", "video visit", "sick visit", "well child", "well baby",
	"urgent care", "consult", "consultation", "second opinion", "intake",
	"cleaning", "dental cleaning", "hygiene visit", "recall", "root canal", "extraction",
	"lab work", "labs", "bloodwork", "blood work", "blood draw", "x ray", "xray", "mri", "ct scan",
	"ultrasound", "mammogram", "colonoscopy", "pap smear", "screening",
	"vaccination", "vaccine", "immunization", "flu shot",
	"physical therapy", "counseling", "psychotherapy", "therapy session",
	"pre op", "post op", "surgery", "procedure", "med check", "medication review",
}

// lexicon maps each group to its terms.
var lexicon = map[string][]string{
	GroupCondition:  conditionTerms,
	GroupMedication: medicationTerms,
	GroupAllergy:    allergyTerms,
	GroupVisitType:  visitTypeTerms,
}
