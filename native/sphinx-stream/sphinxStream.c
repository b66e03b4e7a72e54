/*
 * sphinx-stream: one PocketSphinx decoder, loaded once and kept, fed raw 16 kHz mono PCM of one utterance at a
 * time over stdin while the user speaks. Built at install time against Debian's libpocketsphinx-dev
 * (scripts/build-sphinx-stream.js); the app runs it as a long-lived child process (sphinxStreamTranscriber.node.ts).
 *
 * stdin, messages of: 1 byte type, uint32 little-endian payload length, payload.
 *   'S' start an utterance     'A' audio: int16 little-endian samples     'E' end: prints the final hypothesis
 *   'X' cancel the utterance   'Q' quit
 *   'M' set the cepstral mean: payload "v1,v2,..." as printed by "N" (a mean saved from an earlier session)
 * stdout, one line each, flushed at once:
 *   "R" loaded                 "F <text>" final hypothesis
 *   "P <samples> <text>" every 100 ms of audio: the interim hypothesis of the utterance's first <samples> samples
 *   "C" cancelled              "E <message>" an error (the process then exits for fatal ones)
 *   "N v1,v2,..." after each final hypothesis: the cepstral mean the decoder has adapted to this microphone and voice.
 *   PocketSphinx starts from its model's mean and updates it only at the end of an utterance (or after 8 s), so the
 *   first utterance of a fresh decoder is recognised poorly; the app saves this and sets it with 'M' next time.
 * Extra command-line arguments are PocketSphinx options (-hmm, -lm, -dict, ...); without them, Debian's en-us model.
 */
#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/feat.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An interim hypothesis every this many samples (100 ms at 16 kHz): it costs a backtrace. */
#define PARTIAL_EVERY_SAMPLES 1600
/* A cepstral mean beyond this is not one a microphone produced: the text is damaged. */
#define MEAN_LIMIT 1000.0
/* No message is larger than this (60 s of audio); anything bigger is a broken peer. */
#define MAX_PAYLOAD (16000 * 2 * 60)

static int read_exact(void *buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    size_t got = fread((char *)buffer + done, 1, length - done, stdin);
    if (got == 0) return -1;
    done += got;
  }
  return 0;
}

/* The decoder's live cepstral mean, as "N v1,v2,...". */
static void print_mean(ps_decoder_t *decoder) {
  cmn_t *cmn = ps_get_feat(decoder)->cmn_struct;
  if (cmn == NULL) return;
  mfcc_t mean[64];
  if (cmn->veclen > 64) return;
  cmn_live_get(cmn, mean);
  for (int i = 0; i < cmn->veclen; i++) {
    if (!isfinite((double)mean[i]) || fabs((double)mean[i]) > MEAN_LIMIT) return;
  }
  printf("N");
  for (int i = 0; i < cmn->veclen; i++) printf("%c%.3f", i == 0 ? ' ' : ',', (double)mean[i]);
  printf("\n");
  fflush(stdout);
}

/*
 * Sets the live cepstral mean from "v1,v2,...": exactly as many finite values as the model's cepstra have, each
 * within MEAN_LIMIT. Anything else is ignored (the model's own mean stays).
 */
static void set_mean(ps_decoder_t *decoder, const char *text, size_t length) {
  cmn_t *cmn = ps_get_feat(decoder)->cmn_struct;
  if (cmn == NULL || cmn->veclen > 64 || length > 2048) return;
  char copy[2049];
  memcpy(copy, text, length);
  copy[length] = '\0';
  mfcc_t mean[64];
  int count = 0;
  char *cursor = copy;
  for (;;) {
    char *end;
    double value = strtod(cursor, &end);
    if (end == cursor || !isfinite(value) || fabs(value) > MEAN_LIMIT || count == cmn->veclen) return;
    mean[count++] = (mfcc_t)value;
    while (*end == ' ' || *end == '\n' || *end == '\r') end++;
    if (*end == '\0') break;
    if (*end != ',') return;
    cursor = end + 1;
  }
  if (count == cmn->veclen) cmn_live_set(cmn, mean);
}

static void print_line(char kind, const char *text) {
  if (text == NULL || text[0] == '\0') printf("%c\n", kind);
  else printf("%c %s\n", kind, text);
  fflush(stdout);
}

int main(int argc, char *argv[]) {
  cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), argc, argv, FALSE);
  if (config == NULL) {
    print_line('E', "invalid PocketSphinx options");
    return 2;
  }
  if (cmd_ln_str_r(config, "-logfn") == NULL) cmd_ln_set_str_r(config, "-logfn", "/dev/null");
  ps_default_search_args(config);
  ps_decoder_t *decoder = ps_init(config);
  if (decoder == NULL) {
    print_line('E', "could not load the PocketSphinx model (is pocketsphinx-en-us installed?)");
    return 2;
  }

  /* No warm-up utterance: it would start live CMN from silence and garble the first real utterance. */
  print_line('R', NULL);

  int16_t *samples = malloc(MAX_PAYLOAD);
  int in_utterance = 0;
  long heard = 0;
  long since_partial = 0;
  for (;;) {
    unsigned char header[5];
    if (read_exact(header, sizeof header) != 0) break; /* stdin closed: the app is gone */
    uint32_t length = (uint32_t)header[1] | ((uint32_t)header[2] << 8) | ((uint32_t)header[3] << 16) | ((uint32_t)header[4] << 24);
    if (length > MAX_PAYLOAD || (header[0] == 'A' && length % 2 != 0)) {
      print_line('E', "malformed message");
      return 3;
    }
    if (length > 0 && read_exact(samples, length) != 0) break;
    switch (header[0]) {
      case 'S':
        if (in_utterance) ps_end_utt(decoder);
        ps_start_utt(decoder);
        in_utterance = 1;
        since_partial = 0;
        heard = 0;
        break;
      case 'A': {
        if (!in_utterance) break;
        size_t count = length / 2;
        if (ps_process_raw(decoder, samples, count, FALSE, FALSE) < 0) {
          print_line('E', "decoding failed");
          break;
        }
        since_partial += (long)count;
        heard += (long)count;
        if (since_partial >= PARTIAL_EVERY_SAMPLES) {
          since_partial = 0;
          const char *hypothesis = ps_get_hyp(decoder, NULL);
          printf("P %ld %s\n", heard, hypothesis == NULL ? "" : hypothesis);
          fflush(stdout);
        }
        break;
      }
      case 'E': {
        if (!in_utterance) {
          print_line('F', NULL);
          break;
        }
        ps_end_utt(decoder);
        in_utterance = 0;
        const char *hypothesis = ps_get_hyp(decoder, NULL);
        print_line('F', hypothesis);
        print_mean(decoder);
        break;
      }
      case 'M':
        if (!in_utterance) set_mean(decoder, (const char *)samples, length);
        break;
      case 'X':
        if (in_utterance) ps_end_utt(decoder);
        in_utterance = 0;
        print_line('C', NULL);
        break;
      case 'Q':
        free(samples);
        ps_free(decoder);
        cmd_ln_free_r(config);
        return 0;
      default:
        print_line('E', "unknown message type");
        return 3;
    }
  }
  free(samples);
  ps_free(decoder);
  cmd_ln_free_r(config);
  return 0;
}
