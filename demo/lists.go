package demo

import "github.com/carebook/carebook/store"

// The lists below are everything the generator draws from. Names are common
// given names and surnames, most frequent first (draws favour the start of
// each list); nobody in the demo is a real person.

// culture is one naming tradition among the practice's patients, with the
// languages its patients prefer.
type culture struct {
	name     string
	weight   float64 // share of patients
	female   []string
	male     []string
	last     []string
	gendered bool // surnames end -ski for men and -ska for women (Polish)
	// doubleSurnames: some patients carry both parents' surnames (Spanish).
	doubleSurnames bool
	languages      []weighted
}

type weighted struct {
	value  string
	weight float64
}

var cultures = []culture{
	{
		name: "english", weight: 0.49,
		female: []string{"Mary", "Jennifer", "Elizabeth", "Sarah", "Jessica", "Emily", "Linda", "Patricia", "Susan", "Emma",
			"Olivia", "Ashley", "Karen", "Megan", "Hannah", "Lauren", "Rachel", "Nicole", "Amanda", "Michelle",
			"Kimberly", "Donna", "Carol", "Dorothy", "Margaret", "Betty", "Helen", "Ruth", "Sharon", "Deborah",
			"Grace", "Chloe", "Abigail", "Madison", "Brittany", "Kayla", "Harper", "Avery", "Zoe", "Nora", "Lily",
			"Claire", "Caitlin", "Siobhan", "Aoife", "Renée", "Zoë", "Shanice", "Imani", "Keisha", "Barbara",
			"Nancy", "Lisa", "Sandra", "Laura", "Stephanie", "Rebecca", "Samantha", "Katherine", "Christine",
			"Heather", "Andrea", "Julie", "Victoria", "Kelly", "Natalie", "Tiffany", "Erin", "Danielle", "Vanessa",
			"Alexis", "Jasmine", "Brianna", "Courtney", "Allison", "Hailey", "Paige", "Molly", "Bethany", "Colleen",
			"Maureen", "Bridget", "Tamika", "Latoya", "Aaliyah", "Ebony", "Alice", "Anne", "Diane", "Joyce",
			"Judith", "Frances", "Janet", "Catherine", "Evelyn", "Cheryl", "Gloria", "Teresa", "Kathleen", "Marie",
			"Jacqueline", "Julia", "Martha", "Kathryn", "Joan", "Theresa", "Beverly", "Denise", "Marilyn", "Brenda",
			"Pamela", "Katie", "Holly", "Melissa", "Angela", "Amy", "Shirley", "Virginia", "Cynthia", "Kristen",
			"Lindsey", "Whitney", "Leah", "Savannah", "Audrey", "Stella", "Violet", "Hazel", "Aubrey", "Addison",
			"Ellie", "Peyton", "Riley", "Scarlett", "Aria", "Penelope", "Maya", "Ruby", "Ivy", "Eleanor", "Naomi",
			"Caroline", "Kennedy", "Sydney", "Jada", "Destiny", "Tanisha", "Monique", "Crystal", "Erica", "Tara",
			"Dana", "Wendy", "Gail", "Joanne", "Eileen", "Fiona", "Maeve", "Niamh", "Róisín"},
		male: []string{"John", "James", "Michael", "Robert", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
			"Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul", "Andrew", "Joshua", "Kevin",
			"Brian", "George", "Timothy", "Ryan", "Jacob", "Nicholas", "Eric", "Jonathan", "Justin", "Scott",
			"Brandon", "Benjamin", "Samuel", "Gregory", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Liam",
			"Noah", "Ethan", "Mason", "Logan", "Connor", "Seán", "DeShawn", "Tyrone", "Malik", "Jamal", "Edward",
			"Jeffrey", "Gary", "Larry", "Jerry", "Aaron", "Adam", "Nathan", "Zachary", "Kyle", "Peter", "Jeremy",
			"Walter", "Harold", "Carl", "Arthur", "Roger", "Keith", "Terry", "Sean", "Austin", "Dylan", "Tyler",
			"Caleb", "Owen", "Wyatt", "Hunter", "Colin", "Declan", "Brendan", "Darnell", "Terrence", "Andre",
			"Marcus", "Xavier", "Donald", "Kenneth", "Henry", "Douglas", "Albert", "Wayne", "Ralph", "Roy",
			"Eugene", "Louis", "Russell", "Bobby", "Philip", "Johnny", "Bradley", "Vincent", "Randy", "Billy",
			"Bruce", "Shawn", "Travis", "Jesse", "Craig", "Alan", "Todd", "Derek", "Chad", "Cody", "Trevor", "Evan",
			"Luke", "Isaac", "Gavin", "Jayden", "Carter", "Lucas", "Elijah", "Oliver", "Levi", "Julian", "Grayson",
			"Lincoln", "Jaxon", "Cameron", "Jordan", "Tristan", "Brady", "Dominic", "Ian", "Shane", "Troy", "Lance",
			"Curtis", "Leon", "Reginald", "Cedric", "Lamar", "Dwayne", "Rashad", "Kendrick", "Desmond", "Cornelius",
			"Cillian", "Eoin", "Ciarán"},
		last: []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
			"Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
			"Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
			"Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
			"Collins", "Stewart", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey",
			"Bell", "Kelly", "Howard", "Ward", "Brooks", "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers",
			"Ross", "Foster", "O'Brien", "O'Connor", "O'Neill", "McDonald", "McCarthy", "Sullivan", "Russo",
			"Romano", "Schneider", "Fischer", "Washington", "Jefferson", "Banks", "Freeman", "St. John", "Hall",
			"Cole", "Perry", "Powell", "Jenkins", "Barnes", "Fisher", "Henderson", "Coleman", "Simmons",
			"Patterson", "Jordan", "Reynolds", "Hamilton", "Graham", "Wallace", "Woods", "West", "Marshall",
			"Owens", "Ellis", "Harrison", "Gibson", "McCoy", "Hayes", "Kennedy", "Wells", "Tucker", "Porter",
			"Hicks", "Crawford", "Henry", "Boyd", "Warren", "Dixon", "Burns", "Gordon", "Shaw", "Holmes", "Rice",
			"Hunt", "Black", "Daniels", "Palmer", "Mills", "Nichols", "Grant", "Knight", "Ferguson", "Stone",
			"Hawkins", "Dunn", "Perkins", "Hudson", "Spencer", "Gardner", "Stephens", "Payne", "Pierce", "Berry",
			"Matthews", "Arnold", "Wagner", "Willis", "Watkins", "Olson", "Carroll", "Duncan", "Snyder", "Hart",
			"Cunningham", "Bradley", "Lane", "Andrews", "Harper", "Fox", "Riley", "Armstrong", "Carpenter",
			"Weaver", "Greene", "Lawrence", "Elliott", "Chapman", "Sims", "Peters", "Kelley", "Lawson", "Fields",
			"Ryan", "Carr", "Vaughn", "Byrne", "Doyle", "Gallagher", "Quinn", "Walsh", "Fitzgerald", "Brennan",
			"Kavanagh", "Lynch", "Nolan", "Costello", "Marino", "Ricci", "Bianchi", "Esposito", "Weber", "Hoffman",
			"Meyer", "Wolf", "Klein", "Keller", "Murray", "Ford", "Wheeler", "Bishop", "Dean", "Rhodes", "Fowler",
			"Hanson", "Harvey", "Little", "Burke", "Bowman", "Pearson", "Webb", "Simpson", "Stevens", "Ramsey",
			"Lambert", "Newman", "Barker", "Barton", "Bates", "Lowe", "Garrett", "Chambers", "Goodwin", "Holland",
			"Sutton", "Caldwell", "Moss", "Norris", "Fleming", "Frazier", "Brady", "Burton", "Harmon", "Cross",
			"Gilbert", "Oliver", "Owen", "Paul", "Jennings", "Griffin", "Reid", "Hale", "Holt", "Potter", "Parsons",
			"Hubbard", "Walton", "Sherman", "Douglas", "Blake", "Cannon", "Mann", "Bush", "Glover", "Benson",
			"Burgess", "Higgins", "Page", "Ball", "Curtis", "Fuller", "Lyons", "Nash", "Tate", "Day", "Logan",
			"Stanley", "Woodward", "Fletcher", "Stokes", "Manning", "Sharp", "Hodges", "Bryant", "Alexander",
			"Russell", "Griffith", "Howell", "Sutherland", "Barrett", "Wade", "Tyler", "Jacobs", "Schultz", "Koch",
			"Becker", "Zimmerman", "Hartman", "Kramer", "Vogel", "Friedman", "Cohen", "Levine", "Goldberg", "Katz",
			"Rosen", "Shapiro", "Kaplan", "Stein", "Berg", "Larson", "Hansen", "Johansson", "Gustafson", "Horvath",
			"Kovacs", "Nagy", "Petrov", "Ivanov", "Popescu", "Papadopoulos", "Costa", "Ferreira", "Oliveira",
			"Moreau", "Dubois", "Lefebvre", "Fontaine", "Boucher", "Gagnon", "Tremblay", "Bouchard", "LeBlanc",
			"Thibodeaux", "Landry", "Fontenot", "DeLuca", "Caruso", "Rizzo", "Greco", "Bruno", "Gallo", "Conti",
			"Mancini", "Lombardi", "O'Sullivan", "O'Donnell", "O'Leary", "MacLeod", "MacKenzie", "McLaughlin",
			"McGuire", "McKenna", "Dawson", "Gaines", "Mayfield", "Robertson", "Richards", "Williamson", "Jensen"},
		languages: []weighted{{"English", 1}},
	},
	{
		name: "spanish", weight: 0.20, doubleSurnames: true,
		female: []string{"María", "María José", "Guadalupe", "Sofía", "Valentina", "Camila", "Isabella", "Lucía",
			"Ana", "Carmen", "Rosa", "Daniela", "Gabriela", "Alejandra", "Mariana", "Fernanda", "Ximena", "Adriana",
			"Verónica", "Leticia", "Yesenia", "Marisol", "Paola", "Juana", "Elena", "Mónica", "Beatriz", "Inés", "Yolanda",
			"Maribel", "Esperanza", "Araceli", "Rocío", "Lourdes", "Graciela", "Itzel", "Renata", "Abril", "Jimena"},
		male: []string{"José", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Jesús", "Antonio", "Francisco",
			"Alejandro", "Javier", "Diego", "Mateo", "Santiago", "Sebastián", "Ángel", "Ricardo", "Eduardo",
			"Fernando", "Manuel", "Rafael", "Andrés", "Héctor", "Raúl", "Óscar", "Juan Carlos", "José Luis", "Roberto",
			"Enrique", "Arturo", "Sergio", "Pedro", "Ramón", "Emiliano", "Joaquín", "Tomás", "Iván", "Rubén", "Gustavo"},
		last: []string{"García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
			"Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes", "Gutiérrez",
			"Ortiz", "Chávez", "Ramos", "Ruiz", "Jiménez", "Mendoza", "Vásquez", "Castillo", "Moreno", "Romero",
			"Herrera", "Medina", "Aguilar", "Vargas", "Castro", "Guzmán", "Muñoz", "Peña", "Ibáñez", "García López",
			"De la Cruz", "Álvarez", "Delgado", "Soto", "Vega", "Navarro", "Domínguez", "Salazar", "Ríos", "Contreras", "Luna",
			"Espinoza", "Guerrero", "Sandoval", "Núñez", "Cabrera", "Campos", "Fuentes", "Carrillo", "Estrada", "Acosta",
			"Figueroa", "Rojas", "Ávila", "Orozco", "Molina", "Silva", "Valdez", "Cortés", "Lara", "Zamora"},
		languages: []weighted{{"Spanish", 0.5}, {"English", 0.5}},
	},
	{
		name: "vietnamese", weight: 0.05,
		female: []string{"Linh", "Thao", "Trang", "Huong", "Mai", "Lan", "Ngoc", "Hoa", "Thuy", "Anh", "Nhung", "Phuong", "Hanh",
			"Vy", "Tuyet", "Diem", "Kim", "Ha", "Thu", "Yen", "Loan", "Nga", "Hien", "Khanh", "Uyen", "My"},
		male: []string{"Minh", "Tuan", "Hung", "Duc", "Nam", "Long", "Quang", "Thanh", "Huy", "Khoa", "Bao", "Dung", "Vinh",
			"Phuc", "Son", "Hieu", "Trung", "Hai", "Khang", "Tri", "Dat", "Phong", "Tien", "Loc", "Cuong", "Thinh"},
		last: []string{"Nguyen", "Tran", "Le", "Pham", "Huynh", "Hoang", "Phan", "Vu", "Vo", "Dang", "Bui", "Do", "Ho", "Ngo",
			"Duong", "Ly", "Truong", "Dinh", "Lam", "Mai", "Trinh", "Luong", "Ta", "Cao", "Chau", "Thai"},
		languages: []weighted{{"Vietnamese", 0.45}, {"English", 0.55}},
	},
	{
		name: "polish", weight: 0.04, gendered: true,
		female: []string{"Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Magdalena", "Joanna", "Monika", "Ewa", "Zofia",
			"Aleksandra", "Natalia", "Dorota", "Beata", "Jadwiga", "Barbara", "Krystyna", "Elżbieta", "Renata",
			"Marta", "Paulina", "Karolina", "Julia"},
		male: []string{"Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Jakub", "Kamil",
			"Grzegorz", "Wojciech", "Stanisław", "Mateusz", "Adam", "Rafał", "Robert", "Dariusz", "Zbigniew",
			"Bartosz", "Szymon", "Jan"},
		last: []string{"Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
			"Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Krawczyk", "Piotrowski",
			"Grabowski", "Pawlak", "Michalski", "Zając", "Wróbel", "Sikora", "Baran", "Kaczmarek", "Ostrowski",
			"Kubiak", "Wieczorek", "Jabłoński", "Walczak", "Stępień", "Górski", "Rutkowski"},
		languages: []weighted{{"Polish", 0.3}, {"English", 0.7}},
	},
	{
		name: "nigerian", weight: 0.04,
		female: []string{"Chiamaka", "Ngozi", "Adaeze", "Funmilayo", "Folake", "Amaka", "Chioma", "Ifeoma", "Temitope",
			"Yetunde", "Blessing", "Precious", "Zainab", "Aisha", "Ada", "Nneka", "Kemi", "Bisi", "Ebele",
			"Uchenna", "Oyinda", "Omolara"},
		male: []string{"Chinedu", "Emeka", "Oluwaseun", "Babatunde", "Adebayo", "Olumide", "Ikechukwu", "Obinna", "Tunde",
			"Chukwuemeka", "Uche", "Femi", "Segun", "Ibrahim", "Musa", "Chidi", "Kunle", "Dayo", "Nnamdi",
			"Ifeanyi", "Yusuf", "Olu", "Gbenga"},
		last: []string{"Okafor", "Adeyemi", "Okonkwo", "Eze", "Nwosu", "Adebayo", "Okoro", "Oladipo", "Balogun", "Ogunleye",
			"Chukwu", "Afolabi", "Obi", "Nnamdi", "Bello", "Abubakar", "Okeke", "Ojo", "Adewale", "Oyelaran",
			"Uzor", "Onyeka", "Akinola", "Obaseki", "Ezeh", "Ogbu", "Danjuma"},
		languages: []weighted{{"English", 0.95}, {"Yoruba", 0.03}, {"Igbo", 0.02}},
	},
	{
		name: "indian", weight: 0.06,
		female: []string{"Priya", "Ananya", "Aishwarya", "Deepika", "Lakshmi", "Kavya", "Neha", "Pooja", "Shreya", "Divya",
			"Meera", "Sunita", "Anjali", "Riya", "Aditi", "Swati", "Nisha", "Rekha", "Geeta", "Harpreet", "Simran",
			"Isha", "Tanvi", "Sneha", "Madhuri", "Rupa", "Jaspreet"},
		male: []string{"Arjun", "Rahul", "Vikram", "Rohan", "Aditya", "Sanjay", "Amit", "Raj", "Ravi", "Suresh", "Karthik",
			"Anil", "Vivek", "Nikhil", "Arun", "Deepak", "Manoj", "Rajesh", "Sunil", "Pradeep", "Gurpreet",
			"Harjit", "Krishna", "Venkat", "Ashok", "Vijay", "Siddharth"},
		last: []string{"Patel", "Shah", "Sharma", "Singh", "Kumar", "Gupta", "Reddy", "Rao", "Iyer", "Nair", "Desai", "Mehta",
			"Joshi", "Chaudhary", "Pillai", "Menon", "Agarwal", "D'Souza", "Bhatt", "Trivedi", "Kapoor", "Malhotra",
			"Chopra", "Verma", "Mishra", "Banerjee", "Chatterjee", "Das", "Bose", "Krishnan", "Subramanian",
			"Naidu", "Gill", "Sandhu", "Dhillon", "Fernandes"},
		languages: []weighted{{"English", 0.88}, {"Hindi", 0.06}, {"Gujarati", 0.03}, {"Tamil", 0.03}},
	},
	{
		name: "chinese", weight: 0.05,
		female: []string{"Mei", "Xiaoling", "Li Na", "Yan", "Jing", "Hui", "Ying", "Fang", "Wen", "Xin", "Jia", "Lian",
			"Xiu Ying", "Hong", "Yu", "Ling", "Qing", "Shu", "Lan", "Jia Hui", "Yi", "Rui"},
		male: []string{"Wei", "Jun", "Lei", "Hao", "Jian", "Ming", "Yong", "Tao", "Bo", "Qiang", "Zhiwei", "Jie", "Yi", "Feng",
			"Gang", "Bin", "Peng", "Chao", "Kai", "Zhen", "Hui Min", "Xiang"},
		last: []string{"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu",
			"Hu", "Lin", "Guo", "He", "Wong", "Chan", "Leung", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song",
			"Tang", "Han", "Feng", "Deng", "Cao", "Peng", "Zeng", "Xiao", "Tian", "Dong", "Pan", "Yuan", "Cai",
			"Jiang", "Yu", "Du", "Ye", "Cheng", "Wei", "Lu", "Ding", "Shen", "Tsai", "Lau", "Ng", "Cheung", "Ho",
			"Yip"},
		languages: []weighted{{"Chinese", 0.38}, {"English", 0.62}},
	},
	{
		name: "korean", weight: 0.025,
		female: []string{"Ji-woo", "Seo-yeon", "Min-ji", "Soo-jin", "Eun-ji", "Ha-eun", "Yuna", "Ji-yeon", "Hye-jin", "Su-bin",
			"Ye-jin", "Da-eun", "Eun-seo", "Mi-kyung", "Jung-hee", "Seo-hyun", "Hana", "Grace"},
		male: []string{"Min-jun", "Seo-jun", "Ji-ho", "Hyun-woo", "Jae-won", "Dong-hyun", "Sung-min", "Jin-ho", "Tae-yang",
			"Woo-jin", "Joon-ho", "Sang-woo", "Kyung-soo", "Young-ho", "Min-ho", "Do-yoon", "Daniel", "Joseph"},
		last: []string{"Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh", "Seo", "Shin",
			"Kwon", "Hwang", "Ahn", "Song", "Yoo", "Hong", "Jeon", "Ko", "Moon", "Baek"},
		languages: []weighted{{"Korean", 0.3}, {"English", 0.7}},
	},
	{
		name: "filipino", weight: 0.025,
		female: []string{"Maria Cristina", "Jocelyn", "Marites", "Rowena", "Liza", "Angelica", "Kristine", "Maricel", "Rosalie",
			"Lorna", "Analyn", "Mylene", "Jennifer", "Cherry", "Divina", "Luzviminda", "Precious", "Princess"},
		male: []string{"Jose Mari", "Rolando", "Rodel", "Mark Anthony", "Jerome", "Romeo", "Ramil", "Ronaldo", "Edgardo",
			"Reynaldo", "Arnel", "Joel", "Danilo", "Renato", "Christian", "John Paul", "Bong", "Emmanuel"},
		last: []string{"Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Dela Cruz", "Villanueva",
			"Aquino", "Castillo", "Ramos", "Flores", "Gonzales", "Aguilar", "Navarro", "Torres", "Domingo",
			"Pascual", "Soriano", "Manalo", "Mercado", "Salvador", "Tolentino", "Gutierrez", "Macapagal"},
		languages: []weighted{{"English", 0.9}, {"Tagalog", 0.1}},
	},
	{
		name: "arabic", weight: 0.02,
		female: []string{"Fatima", "Layla", "Noor", "Mariam", "Yasmin", "Amira", "Huda", "Rania", "Salma", "Dina", "Lina",
			"Reem", "Sara", "Hana", "Zainab", "Iman"},
		male: []string{"Mohammed", "Ahmed", "Omar", "Ali", "Youssef", "Khalid", "Hassan", "Karim", "Mustafa", "Tariq", "Samir",
			"Bilal", "Hamza", "Ibrahim", "Rami", "Nabil"},
		last: []string{"Haddad", "Khalil", "Nasser", "Hassan", "Ibrahim", "Saleh", "Mansour", "Farah", "Aziz", "Al-Amin",
			"Abdullah", "Rahman", "Hussein", "Mahmoud", "Sayed", "Darwish", "Khoury", "Najjar", "Qureshi", "El-Sayed"},
		languages: []weighted{{"English", 0.75}, {"Arabic", 0.25}},
	},
}

var cities = []weighted{
	{"Springfield", 28}, {"Riverton", 16}, {"Lakeside", 13}, {"Georgetown", 11}, {"Fairview", 10},
	{"Milford", 7}, {"Oak Grove", 6}, {"Clinton", 4}, {"Franklin", 3}, {"Salem", 2},
}

var emailDomains = []weighted{{"example.com", 45}, {"example.org", 30}, {"example.net", 25}}

// ageBands weighs five-year age bands from 0–4 to 90–95 (the last one six
// years wide), roughly a US family practice's panel.
var ageBands = []float64{5.8, 6.0, 6.2, 6.3, 6.2, 6.6, 6.8, 6.6, 6.3, 6.0, 6.2, 6.4, 6.3, 5.5, 4.6, 3.2, 2.0, 1.2, 0.8}

// Tags, in alphabetical order. The generator decides each one from the
// patient's age, sex, language and history; see tagsFor.
const (
	tagAnxious         = "anxious"
	tagAsthma          = "asthma"
	tagCOPD            = "copd"
	tagDiabetes        = "diabetes"
	tagHypertension    = "hypertension"
	tagNewParent       = "new-parent"
	tagNewsletter      = "newsletter"
	tagNoShowRisk      = "no-show-risk"
	tagPregnant        = "pregnant"
	tagRecallDue       = "recall-due"
	tagRefillOverdue   = "refill-overdue"
	tagSpanishSpeaking = "spanish-speaking"
	tagVIP             = "vip"
)

// Providers. Children mostly see the pediatric providers; therapy sessions
// are with the practice's therapist.
var (
	adultProviders     = []string{"Dr. Alvarez", "Dr. Kim", "Dr. Patel", "Dr. Reyes", "Dr. Chen"}
	pediatricProviders = []string{"Dr. Okafor", "Dr. Nguyen"}
	therapist          = "Dr. Rivera"
)

// Appointment types, weighted by who the visit is for. Therapy sessions are
// decided separately, for the patients in therapy.
const (
	typeAnnualPhysical = "annual-physical"
	typeFollowUp       = "follow-up"
	typeLabWork        = "lab-work"
	typeVaccination    = "vaccination"
	typeTelehealth     = "telehealth"
	typeTherapy        = "therapy-session"
	typeWellChild      = "well-child"
)

var (
	infantVisits = []weighted{{typeWellChild, 65}, {typeVaccination, 25}, {typeFollowUp, 10}}
	childVisits  = []weighted{{typeWellChild, 40}, {typeVaccination, 20}, {typeFollowUp, 22}, {typeLabWork, 6}, {typeTelehealth, 12}}
	adultVisits  = []weighted{{typeAnnualPhysical, 24}, {typeFollowUp, 36}, {typeLabWork, 16}, {typeVaccination, 8}, {typeTelehealth, 16}}
)

// role is who on staff handles an interaction.
type role int

const (
	frontDesk role = iota
	clinical
	billing
	automated
)

var staffByRole = [...][]string{
	frontDesk: {"front desk (Ana)", "front desk (Marcus)", "front desk (Lucía)", "front desk (Destiny)"},
	clinical:  {"nurse (Priya)", "nurse (Tom)", "MA (Jorge)"},
	billing:   {"billing (Grace)", "billing (Omar)"},
	automated: {"reminder system"},
}

// phrase is one kind of interaction: what the log says, how it happened and
// who handles it. Summaries stay generic: no diagnoses, no results.
type phrase struct {
	summary   string
	channel   store.Channel
	direction store.Direction
	role      role
	weight    float64 // how often it happens on its own; 0 for phrases tied to an event
	anyHour   bool    // patients send these evenings and weekends too
}

// Phrases tied to an appointment or to the patient's status come first, so
// that the generator can name them.
const (
	phReminderSMS = iota
	phReminderCall
	phReminderEmail
	phConfirmSMS
	phCheckIn
	phAfterVisit
	phMissed
	phCancelCall
	phRescheduleSMS
	phDeceased
	phTransferred
	phInterpreter
	phFirstGeneric
)

var (
	call, sms, email, inPerson = store.ChannelCall, store.ChannelSMS, store.ChannelEmail, store.ChannelInPerson
	portal, letter, note       = store.ChannelPortal, store.ChannelLetter, store.ChannelNote
	in, out                    = store.DirectionInbound, store.DirectionOutbound
)

var phrases = []phrase{
	phReminderSMS:   {"Appointment reminder sent by text", sms, out, automated, 0, false},
	phReminderCall:  {"Reminder call for upcoming appointment", call, out, frontDesk, 0, false},
	phReminderEmail: {"Appointment reminder sent by email", email, out, automated, 0, false},
	phConfirmSMS:    {"Patient confirmed appointment by text", sms, in, frontDesk, 0, true},
	phCheckIn:       {"Checked in for appointment", inPerson, in, frontDesk, 0, false},
	phAfterVisit:    {"After-visit summary posted to portal", portal, out, clinical, 0, false},
	phMissed:        {"Called about missed appointment, left voicemail", call, out, frontDesk, 0, false},
	phCancelCall:    {"Called to cancel appointment", call, in, frontDesk, 0, false},
	phRescheduleSMS: {"Patient replied asking to reschedule", sms, in, frontDesk, 0, true},
	phDeceased:      {"Family informed the practice of the patient's death; reminders stopped", note, out, frontDesk, 0, false},
	phTransferred:   {"Records sent to new practice at patient's request", letter, out, frontDesk, 0, false},
	phInterpreter:   {"Interpreter needed for visits", note, out, frontDesk, 0, false},

	{"Called to reschedule appointment", call, in, frontDesk, 6, false},
	{"Asked about a bill", call, in, billing, 4, false},
	{"Requested prescription refill", call, in, clinical, 6, false},
	{"Asked about lab results; told provider will call back", call, in, clinical, 4, false},
	{"Called to update insurance information", call, in, frontDesk, 3, false},
	{"Asked for directions and parking information", call, in, frontDesk, 2, false},
	{"Requested records be sent to a specialist", call, in, frontDesk, 2, false},
	{"Asked about flu shot availability", call, in, clinical, 2, false},
	{"Left voicemail to schedule annual physical", call, out, frontDesk, 4, false},
	{"Called to book follow-up visit", call, out, frontDesk, 4, false},
	{"Called to verify insurance details", call, out, billing, 2, false},
	{"Returned call about refill request", call, out, clinical, 3, false},
	{"Recall reminder sent: time to book a checkup", sms, out, automated, 5, false},
	{"Text reminder to complete intake forms", sms, out, automated, 3, false},
	{"Patient texted asking for earliest available appointment", sms, in, frontDesk, 3, true},
	{"Emailed visit instructions", email, out, frontDesk, 3, false},
	{"Emailed billing statement", email, out, billing, 3, false},
	{"Patient emailed a billing question", email, in, billing, 2, true},
	{"Patient emailed a photo of new insurance card", email, in, frontDesk, 2, true},
	{"Dropped off forms at front desk", inPerson, in, frontDesk, 3, false},
	{"Paid copay at front desk", inPerson, in, billing, 3, false},
	{"Picked up printed records", inPerson, in, frontDesk, 1, false},
	{"Portal message: question about medication refill", portal, in, clinical, 5, true},
	{"Portal message: requested an appointment", portal, in, frontDesk, 4, true},
	{"Updated contact details in portal", portal, in, frontDesk, 2, true},
	{"Lab results released to portal", portal, out, clinical, 4, false},
	{"Mailed recall letter", letter, out, frontDesk, 2, false},
	{"Mailed billing statement", letter, out, billing, 2, false},
	{"Mailed immunization record", letter, out, frontDesk, 1, false},
	{"Insurance verified for upcoming visit", note, out, billing, 3, false},
	{"Updated emergency contact", note, out, frontDesk, 2, false},
	{"Prefers morning appointments", note, out, frontDesk, 1, false},
	{"Prior authorization submitted", note, out, clinical, 1, false},
}
