package store

import (
	"fmt"
	"strings"
	"time"
)

// Status is where a patient stands with the practice.
type Status string

const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
	StatusDeceased Status = "deceased"
)

// Statuses lists every patient status, in display order.
var Statuses = []Status{StatusActive, StatusInactive, StatusDeceased}

// AppointmentStatus is the state of one appointment.
type AppointmentStatus string

const (
	AppointmentScheduled AppointmentStatus = "scheduled"
	AppointmentCompleted AppointmentStatus = "completed"
	AppointmentNoShow    AppointmentStatus = "no-show"
	AppointmentCancelled AppointmentStatus = "cancelled"
)

// AppointmentStatuses lists every appointment status.
var AppointmentStatuses = []AppointmentStatus{AppointmentScheduled, AppointmentCompleted, AppointmentNoShow, AppointmentCancelled}

// Channel is how an interaction happened.
type Channel string

const (
	ChannelCall     Channel = "call"
	ChannelSMS      Channel = "sms"
	ChannelEmail    Channel = "email"
	ChannelInPerson Channel = "in-person"
	ChannelPortal   Channel = "portal"
	ChannelLetter   Channel = "letter"
	ChannelNote     Channel = "note"
)

// Channels lists every interaction channel.
var Channels = []Channel{ChannelCall, ChannelSMS, ChannelEmail, ChannelInPerson, ChannelPortal, ChannelLetter, ChannelNote}

// Direction says who started an interaction.
type Direction string

const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// Directions lists both directions.
var Directions = []Direction{DirectionInbound, DirectionOutbound}

// Patient is one person the practice cares for. Phone holds digits only;
// FormatPhone renders it for people.
type Patient struct {
	ID               int64
	MRN              string
	FirstName        string
	LastName         string
	DOB              time.Time // zero when unknown; midnight UTC otherwise
	Sex              string
	Email            string
	Phone            string
	City             string
	Language         string
	MarketingConsent bool
	ConsentChangedAt time.Time // when consent was last given or withdrawn; zero when unknown
	Status           Status
	Tags             []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// FullName is first and last name as staff say it.
func (p Patient) FullName() string {
	switch {
	case p.FirstName == "":
		return p.LastName
	case p.LastName == "":
		return p.FirstName
	}
	return p.FirstName + " " + p.LastName
}

// Appointment is one booked visit.
type Appointment struct {
	ID         int64
	ExternalID string
	PatientID  int64
	PatientMRN string
	// PatientName is the patient's full name, read with the appointment so
	// that a schedule says who is coming and not only an MRN.
	PatientName string
	StartsAt    time.Time // practice-local wall-clock time
	Type        string
	Provider    string
	Status      AppointmentStatus
}

// Interaction is one logged call, text, email, letter, visit or note.
type Interaction struct {
	ID         int64
	ExternalID string
	PatientID  int64
	PatientMRN string
	At         time.Time // practice-local wall-clock time
	Channel    Channel
	Direction  Direction
	Staff      string
	Summary    string
}

// TagCount is a tag and how many patients carry it.
type TagCount struct {
	Name     string
	Patients int
}

// GroupCount is one bucket of a grouped count.
type GroupCount struct {
	Key   string
	Count int
}

// Valid reports whether s is a known patient status.
func (s Status) Valid() bool { return oneOf(s, Statuses) }

// Valid reports whether s is a known appointment status.
func (s AppointmentStatus) Valid() bool { return oneOf(s, AppointmentStatuses) }

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return oneOf(c, Channels) }

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return oneOf(d, Directions) }

func oneOf[T comparable](v T, all []T) bool {
	for _, a := range all {
		if a == v {
			return true
		}
	}
	return false
}

// FormatPhone shows stored digits the way US staff read them.
func FormatPhone(digits string) string {
	if len(digits) == 10 {
		return fmt.Sprintf("(%s) %s-%s", digits[:3], digits[3:6], digits[6:])
	}
	return digits
}

// Digits keeps only the ASCII digits of s: how phone numbers are compared,
// whatever their punctuation.
func Digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
