package jetstore

import (
	"encoding/json"
	"maps"
)

// metaDeadLetter is the stream metadata key that holds the dead-letter
// stream. Clients and the nats CLI keep a stream's metadata map when they
// read a configuration and send it back (nats stream edit, a config file
// saved from nats stream info), but drop fields they do not know, such as
// dead_letter_stream; so the setting lives in both, and either sets it.
const metaDeadLetter = "wren.dead_letter_stream"

// syncDeadLetter makes the dead_letter_stream field and the metadata key
// agree: one given sets the other; both given must be equal. An empty
// metadata value (an explicit clear) leaves neither.
func syncDeadLetter(c *StreamConfig) *APIError {
	meta, inMeta := c.Metadata[metaDeadLetter]
	switch {
	case inMeta && c.DeadLetter != "" && meta != c.DeadLetter:
		return errStreamConfig("dead_letter_stream %q and metadata %s %q disagree", c.DeadLetter, metaDeadLetter, meta)
	case inMeta && meta == "":
		c.DeadLetter = ""
		c.Metadata = maps.Clone(c.Metadata)
		delete(c.Metadata, metaDeadLetter)
		if len(c.Metadata) == 0 {
			c.Metadata = nil
		}
	case inMeta:
		c.DeadLetter = meta
	case c.DeadLetter != "":
		m := maps.Clone(c.Metadata)
		if m == nil {
			m = make(map[string]string, 1)
		}
		m[metaDeadLetter] = c.DeadLetter
		c.Metadata = m
	}
	return nil
}

// keepDeadLetter carries the current dead-letter stream into an update
// that says nothing about it (neither the field nor the metadata key), so
// a client that does not know the setting does not remove it. Clearing
// it takes "metadata": {"wren.dead_letter_stream": ""}.
func keepDeadLetter(cfg *StreamConfig, cur StreamConfig, data []byte) {
	if cur.DeadLetter == "" || cfg.DeadLetter != "" {
		return
	}
	var req struct {
		DeadLetter *string            `json:"dead_letter_stream"`
		Metadata   map[string]*string `json:"metadata"`
	}
	if json.Unmarshal(data, &req) != nil || req.DeadLetter != nil {
		return
	}
	if _, ok := req.Metadata[metaDeadLetter]; ok {
		return
	}
	cfg.DeadLetter = ""
	m := maps.Clone(cfg.Metadata)
	if m == nil {
		m = make(map[string]string, 1)
	}
	m[metaDeadLetter] = cur.DeadLetter
	cfg.Metadata = m
	syncDeadLetter(cfg)
}
