package org.lorascripts.io.tensorboard;

/**
 * Serialized {@code tensorboard.Event} messages. Field numbers follow
 * tensorboard/compat/proto/event.proto, summary.proto, tensor.proto and tensor_shape.proto
 * (the same numbers as tensorflow/core/util/event.proto and tensorflow/core/framework/*.proto):
 * <pre>
 * Event          { double wall_time = 1; int64 step = 2;
 *                  oneof what { string file_version = 3; Summary summary = 5; SessionLog session_log = 7; } }
 * SessionLog     { SessionStatus status = 1; }   SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
 * Summary        { repeated Value value = 1; }
 * Summary.Value  { string tag = 1; SummaryMetadata metadata = 9;
 *                  oneof value { float simple_value = 2; Image image = 4; TensorProto tensor = 8; } }
 * Summary.Image  { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
 * SummaryMetadata { PluginData plugin_data = 1; }   PluginData { string plugin_name = 1; bytes content = 2; }
 * TensorProto    { DataType dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
 * TensorShapeProto { repeated Dim dim = 2; }  Dim { int64 size = 1; }
 * </pre>
 * Oneof members are written even when zero (they have presence); plain proto3 scalars are omitted at 0.
 */
final class EventMessages {
    static final String FILE_VERSION = "brain.Event:2";
    static final int DT_STRING = 7;   // tensorflow/core/framework/types.proto
    static final String TEXT_PLUGIN = "text";
    static final int SESSION_LOG = 7;
    static final int SESSION_START = 1;

    private EventMessages() {}

    static byte[] fileVersion(double wallTime) {
        return new ProtoEncoder()
                .doubleIfNonZero(1, wallTime)
                .string(3, FILE_VERSION)
                .toByteArray();
    }

    /**
     * {@code session_log { status: START }} at {@code step}: a (re)started session. TensorBoard's
     * event accumulator drops the events it has already read whose step is at least {@code step}
     * (they were written by a run that went on past the checkpoint this one continues from).
     */
    static byte[] sessionStart(double wallTime, long step) {
        return new ProtoEncoder()
                .doubleIfNonZero(1, wallTime)
                .varintIfNonZero(2, step)
                .message(SESSION_LOG, new ProtoEncoder().varint(1, SESSION_START))
                .toByteArray();
    }

    /** Whether a serialized Event is a SessionLog START (the reading side of {@link #sessionStart}). */
    static boolean isSessionStart(byte[] event) {
        try {
            byte[] log = ProtoDecoder.lengthDelimited(event, SESSION_LOG);
            return log != null && ProtoDecoder.varint(log, 1) == SESSION_START;
        } catch (IllegalArgumentException e) {
            return false;  // not a well-formed message: certainly not our START
        }
    }

    static byte[] scalar(double wallTime, long step, String tag, float value) {
        ProtoEncoder v = new ProtoEncoder().string(1, tag).floatValue(2, value);
        return summaryEvent(wallTime, step, v);
    }

    static byte[] image(double wallTime, long step, String tag, byte[] png, int width, int height, int colorspace) {
        ProtoEncoder image = new ProtoEncoder()
                .varintIfNonZero(1, height)
                .varintIfNonZero(2, width)
                .varintIfNonZero(3, colorspace)
                .bytesIfNonEmpty(4, png);
        ProtoEncoder v = new ProtoEncoder().string(1, tag).message(4, image);
        return summaryEvent(wallTime, step, v);
    }

    /**
     * A text summary as tensorboard/plugins/text/summary.py writes it: a DT_STRING tensor of shape [1]
     * holding UTF-8 markdown, and metadata naming the "text" plugin. Its content is a serialized
     * TextPluginData{version = 0}, which is empty on the wire.
     */
    static byte[] text(double wallTime, long step, String tag, byte[] utf8) {
        ProtoEncoder shape = new ProtoEncoder().message(2, new ProtoEncoder().varint(1, 1));
        ProtoEncoder tensor = new ProtoEncoder()
                .varint(1, DT_STRING)
                .message(2, shape)
                .bytes(8, utf8);
        ProtoEncoder pluginData = new ProtoEncoder().string(1, TEXT_PLUGIN);
        ProtoEncoder metadata = new ProtoEncoder().message(1, pluginData);
        ProtoEncoder v = new ProtoEncoder().string(1, tag).message(8, tensor).message(9, metadata);
        return summaryEvent(wallTime, step, v);
    }

    private static byte[] summaryEvent(double wallTime, long step, ProtoEncoder value) {
        ProtoEncoder summary = new ProtoEncoder().message(1, value);
        return new ProtoEncoder()
                .doubleIfNonZero(1, wallTime)
                .varintIfNonZero(2, step)
                .message(5, summary)
                .toByteArray();
    }
}
