package tributary.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindowedKStream;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The Kafka Streams reference for Tributary's benchmarks: game events as JSON, validated, deduplicated
 * by event_id (a key-value store purged after a TTL on stream time), re-keyed by game and counted in one-minute tumbling windows
 * of event time (grace 30 s), results written to an output topic. Prints one line
 * {@code RESULT {json}} with the throughput once every input record present at start has been consumed
 * and every unique one has reached the windowed count (the final flush is timed apart, as closeSeconds).
 *
 * <p>Arguments: {@code --brokers --input a,b --output --app-id --state-dir [--threads 1]
 * [--dedup-ttl-ms 600000] [--grace-ms 30000] [--emit update|final] [--stores rocksdb|memory]
 * [--timeout-ms 1800000]}.
 */
public final class Reference {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Set<String> GAME_EVENT_TYPES =
      Set.of("game_start", "game_end", "achievement_unlocked", "level_complete");
  private static final Set<String> ALL_EVENT_TYPES =
      Set.of("game_start", "game_end", "achievement_unlocked", "level_complete", "user_login", "user_logout",
          "account_created", "device_change", "purchase", "refund_request");
  private static final String DEDUP_STORE = "dedup-by-event-id";

  private static final AtomicLong INPUT = new AtomicLong();
  private static final AtomicLong VALID = new AtomicLong();
  private static final AtomicLong UNIQUE = new AtomicLong();
  private static final AtomicLong WINDOWED = new AtomicLong();
  private static final AtomicLong FIRST_NANOS = new AtomicLong();
  private static final AtomicLong LAST_NANOS = new AtomicLong();

  private Reference() {}

  /** JSON values as a tree; a value that does not parse becomes null (filtered out later). */
  static final class JsonSerde implements Serde<JsonNode> {
    @Override
    public Serializer<JsonNode> serializer() {
      return (topic, node) -> {
        try {
          return node == null ? null : MAPPER.writeValueAsBytes(node);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };
    }

    @Override
    public Deserializer<JsonNode> deserializer() {
      return (topic, bytes) -> {
        if (bytes == null) return null;
        try {
          return MAPPER.readTree(bytes);
        } catch (Exception e) {
          return null;
        }
      };
    }
  }

  /** Event time from the JSON {@code timestamp}; records without one keep the partition's time. */
  public static final class EventTime implements TimestampExtractor {
    public EventTime() {}

    @Override
    public long extract(org.apache.kafka.clients.consumer.ConsumerRecord<Object, Object> record, long partitionTime) {
      Long t = eventTime(record.value() instanceof JsonNode node ? node : null);
      if (t != null) return t;
      return partitionTime >= 0 ? partitionTime : Math.max(0L, record.timestamp());
    }
  }

  static Long eventTime(JsonNode node) {
    if (node == null || !node.path("timestamp").isTextual()) return null;
    try {
      return Instant.parse(node.get("timestamp").asText()).toEpochMilli();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  static boolean valid(JsonNode e) {
    if (e == null || !e.isObject()) return false;
    if (!e.path("event_id").isTextual() || !e.path("user_id").isTextual()) return false;
    if (!e.path("event_type").isTextual() || !ALL_EVENT_TYPES.contains(e.get("event_type").asText())) return false;
    JsonNode data = e.path("event_data");
    if (!data.isObject()) return false;
    if (data.has("amount") && !data.get("amount").isNumber()) return false;
    if (data.has("score") && !data.get("score").isNumber()) return false;
    return eventTime(e) != null;
  }

  /**
   * Drops an event whose event_id was seen within the TTL. Keys are user ids, so a duplicate reaches
   * the same task. Ids live in a key-value store (event_id to event time), purged on stream time.
   */
  static final class Dedup implements Processor<String, JsonNode, String, JsonNode> {
    private final long ttlMs;
    private ProcessorContext<String, JsonNode> context;
    private KeyValueStore<String, Long> seen;

    Dedup(long ttlMs) {
      this.ttlMs = ttlMs;
    }

    @Override
    public void init(ProcessorContext<String, JsonNode> context) {
      this.context = context;
      this.seen = context.getStateStore(DEDUP_STORE);
      context.schedule(Duration.ofMinutes(1), PunctuationType.STREAM_TIME, this::purge);
    }

    private void purge(long streamTime) {
      List<String> expired = new ArrayList<>();
      try (KeyValueIterator<String, Long> all = seen.all()) {
        while (all.hasNext()) {
          KeyValue<String, Long> entry = all.next();
          if (entry.value < streamTime - ttlMs) expired.add(entry.key);
        }
      }
      for (String id : expired) seen.delete(id);
    }

    @Override
    public void process(Record<String, JsonNode> record) {
      String id = record.value().get("event_id").asText();
      if (seen.get(id) != null) return;
      seen.put(id, record.timestamp());
      UNIQUE.incrementAndGet();
      context.forward(record);
    }
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String brokers = args.getOrDefault("brokers", "127.0.0.1:19092");
    List<String> inputs = List.of(args.get("input").split(","));
    String output = args.get("output");
    String appId = args.get("app-id");
    long ttlMs = Long.parseLong(args.getOrDefault("dedup-ttl-ms", "600000"));
    long graceMs = Long.parseLong(args.getOrDefault("grace-ms", "30000"));
    boolean memory = "memory".equals(args.getOrDefault("stores", "rocksdb"));
    boolean finalOnly = "final".equals(args.getOrDefault("emit", "update"));
    long timeoutMs = Long.parseLong(args.getOrDefault("timeout-ms", "1800000"));
    long started = System.nanoTime();

    long expected = countRecords(brokers, inputs);

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, args.getOrDefault("threads", "1"));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    props.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, EventTime.class);

    JsonSerde json = new JsonSerde();
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(
        memory ? Stores.inMemoryKeyValueStore(DEDUP_STORE) : Stores.persistentKeyValueStore(DEDUP_STORE),
        Serdes.String(), Serdes.Long()));

    KStream<String, JsonNode> events = builder.stream(inputs, Consumed.with(Serdes.String(), json))
        .peek((k, v) -> {
          FIRST_NANOS.compareAndSet(0L, System.nanoTime());
          INPUT.incrementAndGet();
        })
        .filter((k, v) -> valid(v) && GAME_EVENT_TYPES.contains(v.get("event_type").asText())
            && v.path("event_data").path("game_id").isTextual())
        .peek((k, v) -> VALID.incrementAndGet());

    TimeWindowedKStream<String, String> windowed = events
        .process(() -> new Dedup(ttlMs), DEDUP_STORE)
        .map((k, v) -> KeyValue.pair(v.get("event_data").get("game_id").asText(), v.get("user_id").asText()))
        .repartition(Repartitioned.with(Serdes.String(), Serdes.String()).withName("by-game"))
        .peek((k, v) -> WINDOWED.incrementAndGet())
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofMillis(graceMs)));
    if (finalOnly) windowed = windowed.emitStrategy(EmitStrategy.onWindowClose());
    var counts = memory
        ? windowed.count(Materialized.as(Stores.inMemoryWindowStore("per-game-minute", Duration.ofMinutes(1).plusMillis(graceMs).plusHours(1), Duration.ofMinutes(1), false)))
        : windowed.count();
    counts.toStream()
        .map((w, n) -> {
          ObjectNode out = MAPPER.createObjectNode();
          out.put("game_id", w.key());
          out.put("window_start", Instant.ofEpochMilli(w.window().start()).toString());
          out.put("count", n);
          return KeyValue.pair(w.key() + "@" + w.window().start(), out.toString());
        })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch failed = new CountDownLatch(1);
    streams.setUncaughtExceptionHandler(e -> {
      e.printStackTrace();
      failed.countDown();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.start();

    // Done when every input record went through the source and every unique one reached the
    // windowed count on the far side of the repartition topic.
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (failed.getCount() > 0 && System.nanoTime() < deadline && expected > 0) {
      long seenAt = System.nanoTime();
      long unique = UNIQUE.get();
      if (INPUT.get() >= expected && WINDOWED.get() >= unique) {
        // The last record's dedup may still be under way on a stream thread: confirm it settled.
        Thread.sleep(5);
        if (UNIQUE.get() == unique && WINDOWED.get() >= unique) {
          LAST_NANOS.set(seenAt);
          break;
        }
      }
      Thread.sleep(5);
    }
    long closeStart = System.nanoTime();
    streams.close(Duration.ofSeconds(60));
    long closed = System.nanoTime();
    streams.cleanUp();
    leaveNoGroupBehind(brokers, appId);
    if (LAST_NANOS.get() == 0L) {
      System.err.println("reference: did not consume all " + expected + " records (got " + INPUT.get() + ")");
      System.exit(1);
    }

    double seconds = (LAST_NANOS.get() - FIRST_NANOS.get()) / 1e9;
    Map<String, Object> result = new HashMap<>();
    result.put("name", "kafka-streams 4.1.1 (dedup + 1-min windowed count)");
    result.put("events", INPUT.get());
    result.put("seconds", seconds);
    result.put("eventsPerSec", INPUT.get() / seconds);
    result.put("startupSeconds", (FIRST_NANOS.get() - started) / 1e9);
    result.put("closeSeconds", (closed - closeStart) / 1e9);
    result.put("validGameEvents", VALID.get());
    result.put("uniqueGameEvents", UNIQUE.get());
    result.put("rssPeakMb", rssPeakMb());
    System.out.println("RESULT " + MAPPER.writeValueAsString(result));
    System.exit(0);
  }

  /** Streams members do not leave on close (they time out): remove them, then delete the group. */
  static void leaveNoGroupBehind(String brokers, String appId) {
    try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      admin.removeMembersFromConsumerGroup(appId, new RemoveMembersFromConsumerGroupOptions()).all().get(10, TimeUnit.SECONDS);
      admin.deleteConsumerGroups(List.of(appId)).all().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("reference: could not delete group " + appId + ": " + e);
    }
  }

  /** Records in the topics now: end offsets minus beginning offsets. */
  static long countRecords(String brokers, List<String> topics) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String t : topics) {
        for (PartitionInfo info : c.partitionsFor(t)) parts.add(new TopicPartition(t, info.partition()));
      }
      long n = 0;
      for (var e : c.endOffsets(parts).entrySet()) n += e.getValue();
      for (var e : c.beginningOffsets(parts).entrySet()) n -= e.getValue();
      return n;
    }
  }

  static long rssPeakMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    } catch (Exception ignored) {
      // not on Linux
    }
    return -1;
  }

  static Map<String, String> parse(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --name value, got " + argv[i]);
      out.put(argv[i].substring(2), argv[i + 1]);
    }
    for (String required : List.of("input", "output", "app-id", "state-dir")) {
      if (!out.containsKey(required)) throw new IllegalArgumentException("missing --" + required);
    }
    return out;
  }
}
