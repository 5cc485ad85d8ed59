package protocol

import "strconv"

// Fixed server operations.
var (
	PingLine = []byte("PING\r\n")
	PongLine = []byte("PONG\r\n")
	OKLine   = []byte("+OK\r\n")
)

// AppendMsg appends a MSG operation: `MSG <subject> <sid> [reply] <#bytes>`,
// then the payload, each ending in CRLF. An empty reply is left out.
func AppendMsg[S, R string | []byte](dst []byte, subject S, sid string, reply R, payload []byte) []byte {
	dst = AppendMsgLine(dst, subject, sid, reply, len(payload))
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}

// AppendMsgLine appends only the control line of a MSG operation (with its
// CRLF) announcing size bytes of payload, for a writer that sends the
// payload and its closing CRLF from elsewhere.
func AppendMsgLine[S, R string | []byte](dst []byte, subject S, sid string, reply R, size int) []byte {
	dst = append(dst, "MSG "...)
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	dst = append(dst, sid...)
	if len(reply) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, reply...)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(size), 10)
	return append(dst, "\r\n"...)
}

// AppendHMsg appends an HMSG operation: `HMSG <subject> <sid> [reply]
// <#header bytes> <#total bytes>`, then the header block and the payload.
func AppendHMsg[S, R string | []byte](dst []byte, subject S, sid string, reply R, header, payload []byte) []byte {
	dst = AppendHMsgLine(dst, subject, sid, reply, len(header), len(header)+len(payload))
	dst = append(dst, header...)
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}

// AppendHMsgLine appends only the control line of an HMSG operation (with
// its CRLF): hdr header bytes of total bytes.
func AppendHMsgLine[S, R string | []byte](dst []byte, subject S, sid string, reply R, hdr, total int) []byte {
	dst = append(dst, "HMSG "...)
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	dst = append(dst, sid...)
	if len(reply) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, reply...)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(hdr), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(total), 10)
	return append(dst, "\r\n"...)
}

// AppendErr appends `-ERR '<text>'`.
func AppendErr(dst []byte, text string) []byte {
	dst = append(dst, "-ERR '"...)
	dst = append(dst, text...)
	return append(dst, "'\r\n"...)
}

// AppendInfo appends `INFO <json>`; infoJSON must be a JSON object.
func AppendInfo(dst, infoJSON []byte) []byte {
	dst = append(dst, "INFO "...)
	dst = append(dst, infoJSON...)
	return append(dst, "\r\n"...)
}

// AppendPub appends a PUB (header nil) or HPUB operation, as a client sends
// it. Tools and tests use it to speak to a server.
func AppendPub(dst []byte, subject, reply string, header, payload []byte) []byte {
	if header == nil {
		dst = append(dst, "PUB "...)
	} else {
		dst = append(dst, "HPUB "...)
	}
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	if reply != "" {
		dst = append(dst, reply...)
		dst = append(dst, ' ')
	}
	if header != nil {
		dst = strconv.AppendInt(dst, int64(len(header)), 10)
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(len(header)+len(payload)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, header...)
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}
