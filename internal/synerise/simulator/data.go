package simulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// firstClientID is the clientId of the first customer; the examples come first.
const firstClientID int64 = 4812300001

// activityEpoch anchors generated activity dates, so that data does not depend on the clock.
var activityEpoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// locale is a group of names, places and phone formats that belong together.
type locale struct {
	female, male, last []string
	places             []place
	dial, iso          string
	phones             []string // '#' is a random digit
	domains            []string
}

type place struct{ city, province, zip string }

var locales = []locale{
	{
		female: []string{"Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Zofia", "Joanna", "Magdalena", "Ewa", "Żaneta"},
		male:   []string{"Łukasz", "Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Jan", "Grzegorz", "Bartłomiej"},
		last:   []string{"Nowak", "Wójcik", "Kowalczyk", "Mazur", "Krawczyk", "Zając", "Król", "Wróbel", "Dudek", "Sikora", "Gołębiowski"},
		places: []place{{"Warszawa", "Mazowieckie", "00-0##"}, {"Kraków", "Małopolskie", "30-0##"}, {"Gdańsk", "Pomorskie", "80-0##"},
			{"Wrocław", "Dolnośląskie", "50-0##"}, {"Łódź", "Łódzkie", "90-0##"}, {"Poznań", "Wielkopolskie", "60-0##"}},
		dial: "+48", iso: "PL", phones: []string{"+48 6## ### ###", "+485########", "6##-###-###", "(22) ### ## ##"},
		domains: []string{"example.com", "poczta.example.net"},
	},
	{
		female: []string{"Sophie", "Mia", "Hannah", "Jördis", "Lena", "Käthe"},
		male:   []string{"Jürgen", "Lukas", "Maximilian", "Jörg", "Felix", "Günther"},
		last:   []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Schäfer", "Groß"},
		places: []place{{"Berlin", "Berlin", "101##"}, {"München", "Bayern", "803##"}, {"Köln", "Nordrhein-Westfalen", "506##"}, {"Hamburg", "Hamburg", "200##"}},
		dial:   "+49", iso: "DE", phones: []string{"+49 30 #######", "030 #######", "+49 (0)89 ######"},
		domains: []string{"example.org", "mail.example.com"},
	},
	{
		female: []string{"Zoë", "Chloé", "Léa", "Camille", "Inès", "Hélène"},
		male:   []string{"Théo", "Hugo", "Louis", "Noël", "François", "Jérôme"},
		last:   []string{"Dubois", "Lefèvre", "Martin", "Bernard", "Moreau", "Girard", "Rousseau", "D'Arcy"},
		places: []place{{"Paris", "Île-de-France", "750##"}, {"Lyon", "Auvergne-Rhône-Alpes", "690##"}, {"Marseille", "Provence-Alpes-Côte d'Azur", "130##"}},
		dial:   "+33", iso: "FR", phones: []string{"+33 6 ## ## ## ##", "06 ## ## ## ##", "+336########"},
		domains: []string{"example.net", "courriel.example.org"},
	},
	{
		female: []string{"Olivia", "Emma", "Amelia", "Charlotte", "Siobhán", "Grace"},
		male:   []string{"Oliver", "George", "Harry", "Jack", "James", "Seán"},
		last:   []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "O'Brien", "Davies", "Evans"},
		places: []place{{"London", "England", "SW1A #AA"}, {"Manchester", "England", "M1 #AE"}, {"Dublin", "Leinster", "D0# X2#"}, {"Edinburgh", "Scotland", "EH1 #YZ"}},
		dial:   "+44", iso: "GB", phones: []string{"+44 20 #### ####", "020 #### ####", "+44 7### ######"},
		domains: []string{"example.com", "example.co.uk"},
	},
	{
		female: []string{"Emily", "Madison", "Ava", "Chloe", "Abigail"},
		male:   []string{"Michael", "Ethan", "Daniel", "Noah", "Tyler"},
		last:   []string{"Johnson", "Miller", "Davis", "Rodriguez", "Wilson", "Anderson"},
		places: []place{{"New York", "NY", "100##"}, {"San Francisco", "CA", "941##"}, {"Chicago", "IL", "606##"}, {"Austin", "TX", "787##"}},
		dial:   "+1", iso: "US", phones: []string{"+1 (###) 555-0###", "###-555-0###", "+1 ### 555 0###"},
		domains: []string{"example.com", "example.org"},
	},
	{
		female: []string{"Sofía", "Lucía", "María José", "Ainhoa", "Begoña"},
		male:   []string{"Álvaro", "Íñigo", "José", "Joaquín", "Martín"},
		last:   []string{"García", "Fernández", "López", "Martínez", "Núñez", "Sánchez Pérez"},
		places: []place{{"Madrid", "Madrid", "280##"}, {"Sevilla", "Andalucía", "410##"}, {"Bilbao", "País Vasco", "480##"}},
		dial:   "+34", iso: "ES", phones: []string{"+34 6## ### ###", "6## ## ## ##"},
		domains: []string{"example.es", "correo.example.com"},
	},
	{
		female: []string{"Åsa", "Ingrid", "Freja", "Sigrid"},
		male:   []string{"Søren", "Björn", "Lars", "Øystein"},
		last:   []string{"Johansson", "Andersen", "Nørgaard", "Lindqvist", "Åberg"},
		places: []place{{"Stockholm", "Stockholms län", "111 ##"}, {"Göteborg", "Västra Götaland", "411 ##"}, {"Malmö", "Skåne", "211 ##"}},
		dial:   "+46", iso: "SE", phones: []string{"+46 70 ### ## ##", "070-### ## ##"},
		domains: []string{"example.se", "example.net"},
	},
}

var (
	streets      = []string{"Main Street", "Marszałkowska", "Hauptstraße", "Rue de la Paix", "Calle Mayor", "Storgatan", "High Street", "ul. Długa"}
	loyaltyTiers = []string{"bronze", "silver", "gold", "platinum"}
	stores       = []string{"WAW-01 Złote Tarasy", "KRK-02 Galeria Krakowska", "BER-01 Alexa", "PAR-03 Les Halles", "LON-07 Oxford St", "NYC-02 SoHo", "MAD-01 Gran Vía", "STO-01 Mall of Scandinavia"}
	plusTags     = []string{"shop", "news", "promo", "loyalty", "2024"}
	profileTags  = []string{"vip", "newsletter", "b2b", "returning", "app-user", "churn-risk"}
	companies    = []string{"Acme Sp. z o.o.", "Globex GmbH", "Initech SARL", "Umbrella Ltd", "Stark & Söhne", "Hooli Inc."}
	languages    = []string{"pl", "de", "fr", "en", "es", "sv"}
)

// generated is a customer set and its well-known examples.
type generated struct {
	customers []*customer
	examples  []ExampleCustomer
}

// gen holds the state of one generation run.
type gen struct {
	r      *rand.Rand
	emails map[string]bool
}

// generate builds n customers from seed. It uses no map iteration and no clock.
func generate(seed int64, n int) generated {
	g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 0xc0ffee)), emails: make(map[string]bool, n)}
	out := generated{customers: make([]*customer, 0, max(n, len(exampleSpecs)))}
	id := firstClientID
	for _, spec := range exampleSpecs {
		c := spec.build(id)
		g.emails[strings.ToLower(deref(c.p.Email))] = true
		out.customers = append(out.customers, c)
		out.examples = append(out.examples, spec.example(id))
		id++
	}
	for i := len(exampleSpecs); i < n; i++ {
		id += 1 + int64(g.r.IntN(40))
		out.customers = append(out.customers, g.customer(id, i))
	}
	return out
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) chance(percent int) bool { return g.r.IntN(100) < percent }

// digits replaces every '#' in pattern with a random digit.
func (g *gen) digits(pattern string) string {
	b := []byte(pattern)
	for i, c := range b {
		if c == '#' {
			b[i] = byte('0' + g.r.IntN(10))
		}
	}
	return string(b)
}

func (g *gen) uuid() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func (g *gen) customer(id int64, i int) *customer {
	c := &customer{}
	p := &c.p
	p.ClientID = id
	p.UUID = ptr(g.uuid())
	c.lastActivity = activityEpoch.Add(-time.Duration(g.r.Int64N(730*24*3600)) * time.Second)
	p.LastActivityDate = c.lastActivity.Format(timeLayout)
	p.Attributes = map[string]json.RawMessage{}
	roll := g.r.IntN(100)
	if roll >= 93 {
		p.Anonymous = true
		p.Attributes["firstSeenChannel"] = jsonString(g.pick([]string{"web", "mobile-app", "pos"}))
		return c
	}
	// The draws happen in a fixed order, so a seed always makes the same customers.
	loc := &locales[g.r.IntN(len(locales))]
	female := g.chance(50)
	g.identity(p, loc, female, i)
	g.address(p, loc)
	g.details(p, female)
	g.preferences(p)
	g.registration(c, roll)
	return c
}

// identity draws the names, e-mail, customId and phone.
func (g *gen) identity(p *profile, loc *locale, female bool, i int) {
	first := g.pick(loc.male)
	if female {
		first = g.pick(loc.female)
	}
	last := g.pick(loc.last)
	p.FirstName, p.LastName = ptr(first), ptr(last)
	p.Email = ptr(g.email(first, last, loc, i))
	if g.chance(30) {
		p.DisplayName = ptr(first + " " + firstRune(last) + ".")
	}
	if g.chance(70) {
		p.CustomID = ptr(fmt.Sprintf("LOY-%07d", i))
	}
	if g.chance(85) {
		p.Phone = ptr(g.digits(g.pick(loc.phones)))
	}
}

// address draws the postal address and the country code.
func (g *gen) address(p *profile, loc *locale) {
	pl := loc.places[g.r.IntN(len(loc.places))]
	if g.chance(90) {
		p.City, p.Province, p.ZipCode = ptr(pl.city), ptr(pl.province), ptr(g.digits(pl.zip))
		p.Address = ptr(fmt.Sprintf("%s %d", g.pick(streets), 1+g.r.IntN(180)))
	}
	switch {
	case g.chance(50):
		p.CountryCode = ptr(loc.iso)
	case g.chance(80):
		p.CountryCode = ptr(loc.dial)
	}
}

// details draws the company, birth date, sex and avatar.
func (g *gen) details(p *profile, female bool) {
	if g.chance(15) {
		p.Company = ptr(g.pick(companies))
	}
	if g.chance(80) {
		p.BirthDate = ptr(time.Date(1940+g.r.IntN(67), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02"))
	}
	switch s := g.r.IntN(100); {
	case s < 85 && female:
		p.Sex = ptr("FEMALE")
	case s < 85:
		p.Sex = ptr("MALE")
	case s < 90:
		p.Sex = ptr("NOT_SPECIFIED")
	case s < 93:
		p.Sex = ptr("OTHER")
	}
	if g.chance(10) {
		p.AvatarURL = ptr("https://cdn.example.com/avatars/" + strings.ReplaceAll(*p.UUID, "-", "")[:16] + ".png")
	}
}

// preferences draws the agreements, the custom attributes and the tags.
func (g *gen) preferences(p *profile) {
	a := &p.Agreements
	a.Email, a.SMS, a.Push = g.chance(60), g.chance(35), g.chance(45)
	a.WebPush, a.Bluetooth, a.RFID, a.WiFi = g.chance(20), g.chance(5), g.chance(3), g.chance(8)
	p.Attributes["loyaltyTier"] = jsonString(g.pick(loyaltyTiers))
	if g.chance(60) {
		p.Attributes["favouriteStore"] = jsonString(g.pick(stores))
	}
	p.Attributes["loyaltyPoints"] = json.RawMessage(strconv.Itoa(g.r.IntN(25000)))
	if g.chance(40) {
		p.Attributes["preferredLanguage"] = jsonString(g.pick(languages))
	}
	for _, t := range profileTags {
		if g.chance(12) {
			p.Tags = append(p.Tags, t)
		}
	}
}

// registration gives a named customer its RaaS state from a roll of 0..92.
func (g *gen) registration(c *customer, roll int) {
	if roll >= 73 {
		return // a profile without a password account
	}
	c.registered = true
	c.password = "seeded"
	confirmed := `"false"`
	switch {
	case roll < 45:
		confirmed = `"true"`
	case roll < 50: // registered under AUTOMATIC: usable, nothing to confirm
		c.automatic = true
	case roll < 55: // registered under e-mail confirmation: usable, not yet confirmed
	case roll < 65:
		c.awaiting = StateAwaitingEmailActivation
	default:
		c.awaiting = StateAwaitingPIN
		if g.chance(75) {
			c.pinDevice = g.uuid()
		}
	}
	c.p.Attributes[AttrEmailConfirmed] = json.RawMessage(confirmed)
}

// email builds a unique, plausible address, sometimes with a +tag or capitals.
func (g *gen) email(first, last string, loc *locale, i int) string {
	local := ascii(first) + "." + ascii(last)
	switch g.r.IntN(10) {
	case 0, 1:
		local += "+" + g.pick(plusTags)
	case 2:
		local = ascii(first)[:1] + ascii(last)
	case 3:
		local = ascii(first) + "_" + ascii(last) + strconv.Itoa(70+g.r.IntN(30))
	}
	e := local + "@" + g.pick(loc.domains)
	if g.chance(4) {
		e = strings.ToUpper(e[:1]) + e[1:]
	}
	if g.emails[strings.ToLower(e)] {
		at := strings.IndexByte(e, '@')
		e = e[:at] + "." + strconv.Itoa(i) + e[at:]
	}
	g.emails[strings.ToLower(e)] = true
	return e
}

var asciiFold = strings.NewReplacer(
	"ł", "l", "ą", "a", "ć", "c", "ę", "e", "ń", "n", "ó", "o", "ś", "s", "ź", "z", "ż", "z",
	"ü", "ue", "ö", "oe", "ä", "ae", "ß", "ss", "é", "e", "è", "e", "ë", "e", "ê", "e", "ï", "i",
	"î", "i", "ç", "c", "ñ", "n", "í", "i", "á", "a", "ú", "u", "ø", "o", "å", "a", "æ", "ae",
	" ", "", "'", "", "-", "",
)

func ascii(name string) string { return asciiFold.Replace(strings.ToLower(name)) }

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func ptr(s string) *string { return &s }

func jsonString(s string) json.RawMessage {
	if b, ok := constJSON[s]; ok {
		return b
	}
	b, _ := marshal(s)
	return b
}

// constJSON holds the JSON of the generator's fixed strings, so generation
// does not marshal the same strings thousands of times. Read-only after init.
var constJSON = map[string]json.RawMessage{}

func init() {
	for _, list := range [][]string{loyaltyTiers, stores, languages, {"web", "mobile-app", "pos"}} {
		for _, v := range list {
			b, _ := marshal(v)
			constJSON[v] = b
		}
	}
}
