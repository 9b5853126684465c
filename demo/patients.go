package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

// makePatients draws every patient, then deals out how many appointments
// and interactions each one gets.
func (g *generator) makePatients() {
	r := g.rng(streamPatients)
	g.people = make([]person, g.n)
	// Two patients called John Smith, as every practice has: staff must
	// tell them apart by date of birth or MRN.
	johns := [2]int{-1, -1}
	if g.n >= 10 {
		johns = [2]int{g.n / 3, 2 * g.n / 3}
	}
	for i := range g.people {
		g.people[i] = g.newPerson(r, i, i == johns[0] || i == johns[1])
	}

	weights := make([]float64, g.n)
	for i, p := range g.people {
		weights[i] = p.apptWeight
	}
	for i, c := range spread(r, weights, g.n*appointmentsPerPatient) {
		g.people[i].appts = c
	}
	for i, p := range g.people {
		weights[i] = p.ixWeight
	}
	for i, c := range spread(r, weights, g.n*interactionsPerPatient) {
		g.people[i].ixs = c
	}
}

func (g *generator) newPerson(r *rand.Rand, i int, john bool) person {
	p := person{culture: pickCulture(r)}
	p.MRN = code("D", i+1, 6)
	p.Sex = pickSex(r)
	switch {
	case john:
		p.culture, p.Sex, p.FirstName, p.LastName = &cultures[0], "M", "John", "Smith"
	case i > 0 && chance(r, 0.003):
		// A namesake of someone already on the books.
		src := &g.people[r.IntN(i)]
		p.culture, p.Sex, p.FirstName, p.LastName = src.culture, src.Sex, src.FirstName, src.LastName
	default:
		p.FirstName, p.LastName = name(r, p.culture, p.Sex)
	}

	p.age = pickAge(r)
	if john && p.age < 25 {
		p.age = 25 + r.IntN(50)
	}
	days := r.IntN(365)
	if p.age == 0 {
		days = 7 + r.IntN(358) // no one is registered on the day they are born
	}
	today := time.Unix(g.today, 0).UTC()
	p.DOB = today.AddDate(-p.age, 0, -days)

	p.Status = store.StatusActive
	switch {
	case p.age >= 2 && chance(r, deathRate(p.age)):
		p.Status = store.StatusDeceased
		p.until = g.today - int64(7+r.IntN(510))*day
	case p.age >= 2 && chance(r, 0.073):
		p.Status = store.StatusInactive
		p.until = g.today - int64(91+r.IntN(420))*day
	}

	if chance(r, 0.90) {
		p.Email = g.email(r, p.FirstName, p.LastName, p.DOB)
	}
	if chance(r, 0.95) {
		p.Phone = code("555", r.IntN(10_000_000), 7)
	}
	if chance(r, 0.985) {
		p.City = pick(r, cities)
	}
	p.Language = pick(r, p.culture.languages)
	p.MarketingConsent = chance(r, 0.55)
	if p.MarketingConsent || chance(r, 0.15) {
		// Given, or given once and withdrawn since, in the last four years.
		back := min(4*365, int((g.today-p.DOB.Unix())/day))
		at := g.today - int64(r.IntN(back+1))*day + 9*60*60 + int64(r.IntN(8*60))*60
		p.ConsentChangedAt = time.Unix(at, 0).UTC()
	}

	p.noShowProne = chance(r, 0.08)
	p.Tags = tagsFor(r, &p)
	p.therapy = p.age >= 6 && (hasTag(p.Tags, tagAnxious) && chance(r, 0.6) || chance(r, 0.03))
	if p.age < 18 {
		p.provider = uniform(r, pediatricProviders)
	} else {
		p.provider = uniform(r, adultProviders)
	}

	// How busy they keep the practice, relative to everyone else.
	z := math.Max(-3, math.Min(3, r.NormFloat64()))
	w := math.Exp(0.8*z) * ageFactor(p.age)
	switch p.Status {
	case store.StatusInactive:
		w *= 0.35
	case store.StatusDeceased:
		w *= 0.6
	}
	if p.therapy {
		w *= 1.8
	}
	p.apptWeight = w
	z = math.Max(-3, math.Min(3, r.NormFloat64()))
	p.ixWeight = math.Pow(w, 0.7) * math.Exp(0.4*z)
	return p
}

func pickCulture(r *rand.Rand) *culture {
	total := 0.0
	for _, c := range cultures {
		total += c.weight
	}
	u := r.Float64() * total
	for i := range cultures {
		if u < cultures[i].weight {
			return &cultures[i]
		}
		u -= cultures[i].weight
	}
	return &cultures[0]
}

// pickSex: F, M, X, or unrecorded.
func pickSex(r *rand.Rand) string {
	switch u := r.Float64(); {
	case u < 0.505:
		return "F"
	case u < 0.975:
		return "M"
	case u < 0.99:
		return "X"
	}
	return ""
}

func name(r *rand.Rand, c *culture, sex string) (first, last string) {
	female := sex == "F" || sex != "M" && r.IntN(2) == 0
	if female {
		first = common(r, c.female)
	} else {
		first = common(r, c.male)
	}
	lc := c
	if chance(r, 0.08) {
		lc = pickCulture(r) // married or adopted into another family name
	}
	last = common(r, lc.last)
	if lc.doubleSurnames && chance(r, 0.25) {
		if second := common(r, lc.last); second != last && !strings.Contains(last+second, " ") {
			last += " " + second // father's and mother's surnames
		}
	}
	if lc.gendered && female {
		last = feminine(last)
	}
	return first, last
}

// feminine gives the women's form of a Polish surname: Kowalski, Kowalska.
func feminine(last string) string {
	if strings.HasSuffix(last, "ki") {
		return strings.TrimSuffix(last, "i") + "a"
	}
	return last
}

func pickAge(r *rand.Rand) int {
	total := 0.0
	for _, w := range ageBands {
		total += w
	}
	u := r.Float64() * total
	for band, w := range ageBands {
		if u < w || band == len(ageBands)-1 {
			width := 5
			if band == len(ageBands)-1 {
				width = 6
			}
			return band*5 + r.IntN(width)
		}
		u -= w
	}
	panic("unreachable")
}

// deathRate is the chance that a patient of this age is recorded as
// deceased; about 2% of the panel overall.
func deathRate(age int) float64 {
	switch {
	case age < 40:
		return 0.002
	case age < 60:
		return 0.01
	case age < 75:
		return 0.04
	case age < 85:
		return 0.09
	}
	return 0.25
}

// ageFactor: babies come in for well-child visits, older patients for
// chronic care.
func ageFactor(age int) float64 {
	switch {
	case age < 2:
		return 2.2
	case age < 18:
		return 0.8
	case age < 40:
		return 0.75
	case age < 65:
		return 1.0
	case age < 80:
		return 1.5
	}
	return 1.7
}

// tagsFor decides a patient's tags, in alphabetical order, with the rough
// prevalence a practice's CRM would show.
func tagsFor(r *rand.Rand, p *person) []string {
	var tags []string
	add := func(cond bool, prob float64, tag string) {
		if cond && chance(r, prob) {
			tags = append(tags, tag)
		}
	}
	age := p.age
	alive := p.Status != store.StatusDeceased
	active := p.Status == store.StatusActive
	between := func(lo, hi int) bool { return age >= lo && age < hi }

	add(age >= 18, 0.05, tagAnxious)
	add(between(12, 18), 0.03, tagAnxious)
	add(between(2, 18), 0.09, tagAsthma)
	add(age >= 18, 0.06, tagAsthma)
	add(age >= 65, 0.08, tagCOPD)
	add(between(40, 65), 0.03, tagCOPD)
	add(age < 18, 0.003, tagDiabetes)
	add(between(18, 45), 0.04, tagDiabetes)
	add(between(45, 65), 0.14, tagDiabetes)
	add(age >= 65, 0.22, tagDiabetes)
	add(age < 18, 0.003, tagHypertension)
	add(between(18, 45), 0.09, tagHypertension)
	add(between(45, 65), 0.30, tagHypertension)
	add(age >= 65, 0.48, tagHypertension)
	chronic := hasTag(tags, tagAsthma) || hasTag(tags, tagCOPD) || hasTag(tags, tagDiabetes) || hasTag(tags, tagHypertension)
	add(alive && between(20, 45), 0.04, tagNewParent)
	add(alive && p.MarketingConsent && p.Email != "", 0.35, tagNewsletter)
	add(alive && p.noShowProne, 0.7, tagNoShowRisk)
	add(alive && !p.noShowProne, 0.005, tagNoShowRisk)
	add(active && p.Sex == "F" && between(18, 45), 0.05, tagPregnant)
	add(active, 0.11, tagRecallDue)
	add(active && chronic, 0.15, tagRefillOverdue)
	add(active && !chronic, 0.01, tagRefillOverdue)
	add(p.Language == "Spanish", 0.85, tagSpanishSpeaking)
	add(p.Language != "Spanish" && p.culture.name == "spanish", 0.15, tagSpanishSpeaking)
	add(true, 0.05, tagVIP)
	return tags
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// email makes a unique address at one of the example domains from a name.
func (g *generator) email(r *rand.Rand, first, last string, dob time.Time) string {
	f, l := fold(first), fold(last)
	if f == "" {
		f = "patient"
	}
	if l == "" {
		l = "demo"
	}
	var local string
	switch r.IntN(6) {
	case 0, 1:
		local = f + "." + l
	case 2:
		local = f + l
	case 3:
		local = f[:1] + l
	case 4:
		local = f + "." + l + strconv.Itoa(dob.Year()%100)
	default:
		local = f + "_" + l
	}
	domain := pick(r, emailDomains)
	addr := local + "@" + domain
	for try := 1; g.emails[addr]; try++ {
		addr = local + strconv.Itoa(r.IntN(100*try)) + "@" + domain
	}
	g.emails[addr] = true
	return addr
}

var foldAccents = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ą", "a", "é", "e", "è", "e", "ë", "e", "ę", "e", "í", "i", "ï", "i",
	"ó", "o", "ô", "o", "ö", "o", "ú", "u", "ü", "u", "ñ", "n", "ń", "n", "ç", "c", "ć", "c", "ł", "l",
	"ś", "s", "ź", "z", "ż", "z",
)

// fold turns a name into the letters of an email address: lower case,
// accents dropped, and spaces, hyphens, dots and apostrophes removed.
func fold(s string) string {
	s = foldAccents.Replace(strings.ToLower(s))
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (g *generator) tagsUsed() int {
	seen := map[string]bool{}
	for _, p := range g.people {
		for _, t := range p.Tags {
			seen[t] = true
		}
	}
	return len(seen)
}
