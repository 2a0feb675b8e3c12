"""Speech in and out: listening (VAD, end of turn), faster-whisper ASR, pyttsx3 TTS."""
