// Audio thread: hands each block of microphone samples (Float32, the context's 16 kHz) to the page.
class KioskMicrophone extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}

registerProcessor("kiosk-mic", KioskMicrophone);
