package audit

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

func TestSeedWritesAValidChain(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	appendN(t, s, 3) // seeding continues an existing chain
	var progress []int
	n, err := s.Seed(ctx, SeedOptions{Events: 5000, Batch: 1500, Seed: 7, Progress: func(w int) { progress = append(progress, w) }})
	if err != nil || n != 5000 {
		t.Fatalf("Seed = %d, %v", n, err)
	}
	if !reflect.DeepEqual(progress, []int{1500, 3000, 4500, 5000}) {
		t.Fatalf("progress = %v", progress)
	}
	appendN(t, s, 1) // and the console appends after it
	mustVerifyIntact(t, s, 5004)

	var groups, outcomes, intents, linked int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT split_part(action, '.', 1)), count(DISTINCT outcome),
		count(*) FILTER (WHERE outcome = 'pending'), count(*) FILTER (WHERE intent_seq IS NOT NULL) FROM audit_events`).
		Scan(&groups, &outcomes, &intents, &linked); err != nil {
		t.Fatal(err)
	}
	if groups < 5 || outcomes != 5 || intents == 0 || linked == 0 || linked > intents {
		t.Fatalf("groups %d, outcomes %d, intents %d, outcomes linked %d", groups, outcomes, intents, linked)
	}
	// Outcomes copy their intent, as Store.Outcome writes them.
	var bad int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events o JOIN audit_events i ON i.seq = o.intent_seq
		WHERE i.outcome <> 'pending' OR i.action <> o.action OR i.actor_email <> o.actor_email OR i.target_id <> o.target_id`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d outcomes unlike their intent (%v)", bad, err)
	}
	if _, err := s.Seed(ctx, SeedOptions{}); err == nil {
		t.Fatal("Seed of zero events succeeded")
	}
}

func TestDiff(t *testing.T) {
	before := json.RawMessage(`{"city":"Kraków","name":{"first":"Jan","last":"Nowak"},"tags":["a"],"gone":1,"same":true}`)
	after := json.RawMessage(`{"city":"Gdańsk","name":{"first":"Jan","last":"Kowalski"},"tags":["a","b"],"new":null,"same":true}`)
	got := Diff(before, after)
	want := []FieldChange{
		{Path: "city", Kind: ChangeChanged, Before: "Kraków", After: "Gdańsk"},
		{Path: "gone", Kind: ChangeRemoved, Before: "1"},
		{Path: "name.first", Kind: ChangeUnchanged, Before: "Jan", After: "Jan"},
		{Path: "name.last", Kind: ChangeChanged, Before: "Nowak", After: "Kowalski"},
		{Path: "new", Kind: ChangeAdded, After: "null"},
		{Path: "same", Kind: ChangeUnchanged, Before: "true", After: "true"},
		{Path: "tags[0]", Kind: ChangeUnchanged, Before: "a", After: "a"},
		{Path: "tags[1]", Kind: ChangeAdded, After: "b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff =\n%+v\nwant\n%+v", got, want)
	}
	if got := Diff(nil, json.RawMessage(`{"role":"admin"}`)); len(got) != 1 || got[0].Kind != ChangeAdded {
		t.Fatalf("Diff from nothing = %+v", got)
	}
	if got := Diff(nil, nil); len(got) != 0 {
		t.Fatalf("Diff of nothing = %+v", got)
	}
	if got := Diff(json.RawMessage(`"x"`), json.RawMessage(`{}`)); len(got) != 1 || got[0].Kind != ChangeChanged {
		t.Fatalf("Diff of a string and an empty object = %+v", got)
	}
}
