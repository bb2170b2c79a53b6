/* kiln-protobuf.h: checked decoding of protobuf files for the model readers
 * (ONNX, Caffe); private to the core.
 *
 * A file is mapped only when it is a regular file of at most 2 GiB; its
 * bytes are walked (tags, wire types, lengths, nesting depth) before
 * protobuf-c decodes them through an allocator with a budget proportional
 * to the input, so hostile input fails with a KILN_ERROR_CORRUPT GError
 * instead of a crash or a huge allocation.
 *
 * Threads: no shared state; a budget belongs to one decoded message. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

/* protobuf messages cannot exceed 2 GiB; nothing larger is read. */
#define KILN_PROTOBUF_MAX_FILE_SIZE (G_GINT64_CONSTANT (2) << 30)

typedef struct {
  gsize used;
  gsize limit;
  gboolean exceeded;
} KilnProtobufBudget;

/* Decodes `data` as `desc` with `allocator` set up over `budget` (both must
 * outlive the message, which is freed with protobuf_c_message_free_unpacked
 * and the same allocator). `format` ("ONNX", "Caffe") names the file type in
 * messages. */
ProtobufCMessage *kiln_protobuf_unpack   (const ProtobufCMessageDescriptor *desc,
                                          const guint8                     *data,
                                          gsize                             length,
                                          const char                       *display_name,
                                          const char                       *format,
                                          ProtobufCAllocator               *allocator,
                                          KilnProtobufBudget               *budget,
                                          GError                          **error);

/* Maps a non-empty regular file of at most KILN_PROTOBUF_MAX_FILE_SIZE
 * bytes; `hint` ends the message for something that is not a file. */
GMappedFile      *kiln_protobuf_map_file (const char  *path,
                                          const char  *hint,
                                          GError     **error);

/* Protobuf text format (a Caffe deploy.prototxt) into a message of `desc`:
 * `name: value`, `name { … }`, `name: [a, b]`, # comments. Fields the
 * descriptor does not declare are skipped; a value of the wrong kind, an
 * unknown enum name, an unclosed block or nesting past 32 levels is a
 * KILN_ERROR_CORRUPT error with the line number. Free the result with
 * protobuf_c_message_free_unpacked (msg, NULL). */
ProtobufCMessage *kiln_protobuf_parse_text (const ProtobufCMessageDescriptor *desc,
                                            const char                       *text,
                                            gsize                             length,
                                            const char                       *display_name,
                                            GError                          **error);

G_END_DECLS
