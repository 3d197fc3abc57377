"""The Encoder → decoder page's source: Keras's `addition_rnn` task ("123+45" → "168") learned
by the `lstm_seq2seq` pattern, an encoder whose final states are the decoder's initial state."""
