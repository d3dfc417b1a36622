// A client in Go: it asks the telemetry-policy command and decodes its JSON.
package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
)

// Decision is what `telemetry-policy resolve --json` prints (schema 1).
type Decision struct {
	Schema     int      `json:"schema"`
	Mode       string   `json:"mode"`
	MayCollect bool     `json:"may_collect"`
	MayUpload  bool     `json:"may_upload"`
	Errors     []string `json:"errors"`
}

// Ask returns the decision for app. Anything that goes wrong (the command is
// missing, prints another schema) means: collect nothing.
func Ask(app, appDefault string) Decision {
	out, err := exec.Command("telemetry-policy", "resolve", "--json", "--record",
		"--app-default", appDefault, app).Output()
	var d Decision
	if err != nil || json.Unmarshal(out, &d) != nil || d.Schema != 1 {
		return Decision{Mode: "off"}
	}
	return d
}

func main() {
	d := Ask("mytool", "local")
	fmt.Printf("mode=%s collect=%v upload=%v\n", d.Mode, d.MayCollect, d.MayUpload)
}
