package api

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The framework's reflection (decoding, the OpenAPI document, the
// resources' field lists) must see a struct's fields exactly as
// encoding/json does, embedded structs included.

type embedInner struct {
	Deep string `json:"deep" doc:"from two levels down"`
}

type EmbedBase struct {
	ID    uuid.UUID `json:"id"`
	Label string    `json:"label" enum:"a,b"`
	embedInner
}

type embedPtr struct {
	Via *string `json:"via,omitempty"`
}

type EmbedNested struct {
	Inside int `json:"inside"`
}

type embedOut struct {
	EmbedBase
	Own         bool            `json:"own"`
	EmbedNested `json:"nested"` // a tag name: one nested field, not flattened
	objectMeta  `json:"-"`
}

type embedIn struct {
	*EmbedBase
	embedPtr
	Count *int `json:"count,omitempty"`
}

// embedShadow has label twice: the shallower field wins; Dup twice at one
// depth: neither is a field; Tie twice at one depth: the tagged one wins.
type embedShadow struct {
	EmbedBase
	Label string `json:"label"`
	embedTwin
	embedOtherTwin
}

type embedTwin struct {
	Dup string
	Tie string
}

type embedOtherTwin struct {
	Dup    string
	Tagged string `json:"Tie"`
}

func marshalKeys(t *testing.T, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.Token() // {
	for d.More() {
		k, _ := d.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		d.Decode(&skip)
	}
	return keys
}

func names(fs []jsonField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func TestJSONFieldsFollowEncodingJSON(t *testing.T) {
	s := "x"
	for _, v := range []any{
		embedOut{},
		embedIn{EmbedBase: &EmbedBase{}, embedPtr: embedPtr{Via: &s}, Count: new(int)},
		embedShadow{},
		IdentificationStage{}, PasswordPolicy{}, UserLogoutStage{}, Policy{}, Stage{},
	} {
		got, want := names(jsonFieldsOf(reflect.TypeOf(v))), marshalKeys(t, v)
		if !slices.Equal(got, want) {
			t.Errorf("%T: fields %v, encoding/json writes %v", v, got, want)
		}
	}
	if got := names(jsonFieldsOf(reflect.TypeFor[embedOut]())); !slices.Equal(got,
		[]string{"id", "label", "deep", "own", "nested"}) {
		t.Errorf("embedOut: %v", got)
	}
	shadow := jsonFieldsOf(reflect.TypeFor[embedShadow]())
	if got := names(shadow); !slices.Equal(got, []string{"id", "deep", "label", "Tie"}) {
		t.Errorf("embedShadow: %v", got)
	}
	if f := shadow[2]; !slices.Equal(f.Field.Index, []int{1}) {
		t.Errorf("the shallower label should win: %v", f.Field.Index)
	}
	if f := shadow[3]; f.Field.Name != "Tagged" {
		t.Errorf("the tagged Tie should win: %v", f.Field.Name)
	}
	if got := names(jsonFieldsOf(reflect.TypeFor[PasswordStage]()))[:6]; !slices.Equal(got,
		[]string{"pk", "name", "component", "verbose_name", "verbose_name_plural", "meta_model_name"}) {
		t.Errorf("PasswordStage starts with %v", got)
	}
	if jsonFieldsOf(nil) != nil || jsonFieldsOf(reflect.TypeFor[string]()) != nil {
		t.Error("only structs have fields")
	}
}

func decodeBody[In any](t *testing.T, body string, required ...string) (*In, []store.FieldError) {
	t.Helper()
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	in, err := decode[In](r, required)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return in, ve.Fields
	} else if err != nil {
		t.Fatal(err)
	}
	return in, nil
}

func fieldNames(fes []store.FieldError) []string {
	var out []string
	for _, fe := range fes {
		out = append(out, fe.Field)
	}
	slices.Sort(out)
	return out
}

func TestDecodeEmbeddedFields(t *testing.T) {
	id := uuid.New()
	in, fes := decodeBody[embedIn](t, `{"id":"`+id.String()+`","label":"a","deep":"d","via":"v","count":2}`)
	if fes != nil {
		t.Fatalf("field errors: %v", fes)
	}
	// A nil embedded pointer is allocated, as encoding/json does.
	if in.EmbedBase == nil || in.ID != id || in.Label != "a" || in.Deep != "d" || in.Via == nil || *in.Via != "v" ||
		in.Count == nil || *in.Count != 2 {
		t.Errorf("decoded %+v %+v", in, in.EmbedBase)
	}
	if in, fes := decodeBody[embedIn](t, `{"count":1}`); fes != nil || in.EmbedBase != nil {
		t.Errorf("an embedded pointer no field names stays nil: %+v, %v", in, fes)
	}

	// Unknown fields are still refused, and so are the Go names of the
	// embedded structs; wrong types and missing required fields inside an
	// embedded struct are reported by their JSON names.
	_, fes = decodeBody[embedIn](t, `{"EmbedBase":{},"embedPtr":{},"embedInner":{},"bogus":1,"label":7,"count":"x"}`, "id")
	if got := fieldNames(fes); !slices.Equal(got, []string{"EmbedBase", "bogus", "count", "embedInner", "embedPtr", "id", "label"}) {
		t.Errorf("field errors: %v", fes)
	}
	for _, fe := range fes {
		if fe.Field == "label" && fe.Message != "must be a string" || fe.Field == "bogus" && fe.Message != "is not a field of this object" {
			t.Errorf("%s: %s", fe.Field, fe.Message)
		}
	}

	// A tagged embedded struct is one nested field.
	out, fes := decodeBody[embedOut](t, `{"nested":{"inside":3},"own":true,"deep":"x"}`)
	if fes != nil || out.Inside != 3 || !out.Own || out.Deep != "x" {
		t.Errorf("decoded %+v, %v", out, fes)
	}
	if _, fes := decodeBody[embedOut](t, `{"inside":3}`); !slices.Equal(fieldNames(fes), []string{"inside"}) {
		t.Errorf("a tagged embedded struct's fields are not top-level: %v", fes)
	}
	if _, fes := decodeBody[embedOut](t, `{"nested":5}`); !slices.Equal(fieldNames(fes), []string{"nested"}) ||
		fes[0].Message != "must be an object" {
		t.Errorf("nested: %v", fes)
	}
	// A field two embeddings hide is no field; of two others the shallower
	// or the tagged one is filled.
	if _, fes := decodeBody[embedShadow](t, `{"Dup":"x"}`); !slices.Equal(fieldNames(fes), []string{"Dup"}) {
		t.Errorf("Dup: %v", fes)
	}
	if sh, fes := decodeBody[embedShadow](t, `{"label":"l","Tie":"t","deep":"d"}`); fes != nil ||
		sh.Label != "l" || sh.EmbedBase.Label != "" || sh.Tagged != "t" || sh.Tie != "" || sh.Deep != "d" {
		t.Errorf("decoded %+v, %v", sh, fes)
	}
}

func TestSchemaOfEmbeddedFields(t *testing.T) {
	b := &schemaBuilder{components: map[string]any{}}
	out := b.object(reflect.TypeFor[embedOut](), false)
	props := out["properties"].(map[string]any)
	var got []string
	for k := range props {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"deep", "id", "label", "nested", "own"}) {
		t.Errorf("properties: %v", got)
	}
	if req := out["required"].([]string); !slices.Equal(req, []string{"id", "label", "deep", "own", "nested"}) {
		t.Errorf("required: %v", req)
	}
	if d := props["deep"].(map[string]any)["description"]; d != "from two levels down" {
		t.Errorf("deep's tags are lost: %v", props["deep"])
	}
	if e := props["label"].(map[string]any)["enum"]; !reflect.DeepEqual(e, []string{"a", "b"}) {
		t.Errorf("label's enum: %v", props["label"])
	}
	// The tagged embedded struct is a reference to its own schema.
	if ref := props["nested"].(map[string]any)["$ref"]; ref != "#/components/schemas/EmbedNested" {
		t.Errorf("nested: %v", props["nested"])
	}
	if _, ok := b.components["EmbedBase"]; ok {
		t.Error("a flattened struct has no schema of its own")
	}
	nested := b.components["EmbedNested"].(map[string]any)["properties"].(map[string]any)
	if _, ok := nested["inside"]; !ok || len(nested) != 1 {
		t.Errorf("EmbedNested: %v", nested)
	}

	in := b.object(reflect.TypeFor[embedIn](), true)
	props = in["properties"].(map[string]any)
	if len(props) != 5 || props["via"] == nil || props["deep"] == nil || in["required"] != nil {
		t.Errorf("request properties: %v", in)
	}
}

func TestFieldsOfEmbeddedFields(t *testing.T) {
	var got []string
	for _, f := range fieldsOf(reflect.TypeFor[embedOut](), false) {
		got = append(got, f.Name+":"+string(f.Kind))
	}
	if want := []string{"id:uuid", "label:string", "deep:string", "own:bool", "nested:json"}; !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if fs := fieldsOf(reflect.TypeFor[*embedIn](), true); len(fs) != 5 || fs[3].Name != "via" || fs[3].Nullable {
		t.Errorf("request fields: %+v", fs)
	}
	if fieldsOf(nil, false) != nil {
		t.Error("no type, no fields")
	}
}

// The kinds embed what they share: their documented shape is unchanged.
func TestKindsShowTheirIdentity(t *testing.T) {
	a := &API{}
	a.Init()
	var ident *ResourceInfo
	for _, r := range a.Resources() {
		if r.Path == "stages/identification/" {
			ident = &r
		}
	}
	if ident == nil {
		t.Fatal("stages/identification/ is not listed")
	}
	var got []string
	for _, f := range ident.Out[:7] {
		got = append(got, f.Name)
	}
	if want := []string{"pk", "name", "component", "verbose_name", "verbose_name_plural", "meta_model_name", "user_fields"}; !slices.Equal(got, want) {
		t.Errorf("output fields %v, want %v", got, want)
	}
	o := objectOut[ExpressionPolicy](policyFamily, &store.Object{ID: uuid.New(), Name: "p", Kind: "expression",
		Config: json.RawMessage(`{"expression":"return True","execution_logging":true}`), Version: 4})
	if o.Meta().Version != 4 || o.Name != "p" || !o.ExecutionLogging || o.Component != "ak-policy-expression-form" ||
		o.Expression != "return True" {
		t.Errorf("objectOut: %+v", o)
	}
	if keys := marshalKeys(t, o); !slices.Equal(keys, []string{"pk", "name", "execution_logging", "component",
		"verbose_name", "verbose_name_plural", "meta_model_name", "expression"}) {
		t.Errorf("ExpressionPolicy JSON keys: %v", keys)
	}
}
